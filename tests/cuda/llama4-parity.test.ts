// Llama 4 end to end on cuda in bf16 (its mixture-of-experts layers through moeTop1Sigmoid): the tiny model's first
// logits of every fixture case within 2e-2 relative L2 of the reference (model level, the reference's image
// embeddings fed in), and greedy tokens through the Engine equal to the reference at every step whose reference
// margin is above 0.05.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { toNumbers } from "../../src/core/host-tensor.js";
import { Engine } from "../../src/engine/engine.js";
import { downloadFloat32, fromHost } from "../../src/runtime/creation.js";
import { LAYOUTS, loadCases, loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { greedyMismatch } from "../helpers/greedy.js";
import { loadFixtureModel, promptLogits } from "../helpers/model-harness.js";
import { floats, relativeL2 } from "../helpers/numerics.js";
import { cuda, skipCuda } from "./harness.js";

const MODEL = "tiny-llama4";
const GREEDY = { temperature: 0, maxNewTokens: 12, ignoreEos: true };
const BF16_TOLERANCE = 2e-2;
const BF16_MARGIN = 0.05;

for (const layout of LAYOUTS[MODEL].filter((l) => existsSync(modelDir(l)))) {
  describe(`${layout} on cuda`, { skip: skipCuda }, () => {
    test("first logits of every case match the reference", async () => {
      const { model } = loadFixtureModel(layout, cuda());
      for (const c of loadCases(MODEL)) {
        const ref = loadCaseTensors(MODEL, c.name);
        const ids = Int32Array.from(toNumbers(ref.input_ids));
        const positions = Int32Array.from(ids.keys());
        const embeds = c.images.length ? fromHost(cuda(), ref.image_embeds) : null;
        const logits = await downloadFloat32(promptLogits(model, ids, positions, embeds));
        const error = relativeL2(logits, floats(ref.first_logits));
        console.log(`${layout}/${c.name} (${ids.length} tokens): first logits relative error on cuda ${error.toExponential(2)}`);
        assert.ok(error < BF16_TOLERANCE, `${c.name}: first logits relative error ${error}`);
      }
    });

    describe("through the Engine", () => {
      let engine: Engine;
      before(async () => {
        engine = await Engine.create({ modelPath: modelDir(layout), device: "cuda" });
      });
      after(() => engine?.shutdown());

      for (const c of loadCases(MODEL)) {
        test(`${c.name}: greedy tokens equal the reference where its margin is above ${BF16_MARGIN}`, async () => {
          const ref = loadCaseTensors(MODEL, c.name);
          const out = await engine.generate({ prompt: c.prompt, imageData: c.imagePaths, samplingParams: GREEDY });
          const mismatch = greedyMismatch(out.outputIds, c.greedy_tokens, floats(ref.greedy_margins), BF16_MARGIN);
          console.log(`${layout}/${c.name}: cuda ${JSON.stringify(out.outputIds)}, reference ${JSON.stringify(c.greedy_tokens)}`);
          assert.equal(mismatch, null, mismatch ?? "");
        });
      }
    });
  });
}
