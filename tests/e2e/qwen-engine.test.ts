import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { toNumbers } from "../../src/core/host-tensor.js";
import { Engine } from "../../src/engine/engine.js";
import { Qwen2_5VLProcessor } from "../../src/multimodal/qwen2-5-vl-processor.js";
import { LAYOUTS, loadCases, loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { greedyMismatch } from "../helpers/greedy.js";
import { floats, relativeL2 } from "../helpers/numerics.js";

const MODEL = "tiny-qwen2_5-vl";
const GREEDY = { temperature: 0, maxNewTokens: 12, ignoreEos: true };

for (const layout of LAYOUTS[MODEL]) {
  describe(`${layout} through the Engine`, () => {
    let engine: Engine;
    before(async () => {
      engine = await Engine.create({ modelPath: modelDir(layout) });
    });
    after(() => engine.shutdown());

    for (const c of loadCases(MODEL)) {
      test(`${c.name}: greedy tokens equal the reference`, async () => {
        const ref = loadCaseTensors(MODEL, c.name);
        const out = await engine.generate({ prompt: c.prompt, imageData: c.imagePaths, samplingParams: GREEDY });
        assert.equal(out.metaInfo.promptTokens, c.n_prompt_tokens);
        const mismatch = greedyMismatch(out.outputIds, c.greedy_tokens, floats(ref.greedy_margins));
        assert.equal(mismatch, null, mismatch ?? "");
        assert.deepEqual(out.metaInfo.finishReason, { type: "length", length: 12 });
      });
    }

    test("the three image formats give the same tokens, and encodeImages matches image_embeds", async () => {
      const c = loadCases(MODEL).find((x) => x.name === "two_images")!;
      const ref = loadCaseTensors(MODEL, c.name);
      const raw = await engine.generate({ prompt: c.prompt, imageData: c.imagePaths, samplingParams: GREEDY });

      const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(layout), engine.tokenizer);
      const po = await processor.process({ text: c.prompt, images: c.imagePaths });
      const inputIds = toNumbers(po.input_ids);
      const fromOwnProcessor = await engine.generate({ inputIds, imageData: [{ ...po, format: "processor_output" }], samplingParams: GREEDY });
      assert.deepEqual(fromOwnProcessor.outputIds, raw.outputIds);

      // The reference's own processor output (as a Python processor saved it: float16 pixels).
      const fromPython = await engine.generate({
        inputIds: toNumbers(ref.input_ids),
        imageData: [{ format: "processor_output", pixel_values: ref.pixel_values, image_grid_thw: ref.image_grid_thw }],
        samplingParams: GREEDY,
      });
      assert.equal(greedyMismatch(fromPython.outputIds, raw.outputIds, floats(ref.greedy_margins)), null);

      const feature = await engine.encodeImages([{ ...po, format: "processor_output" }]);
      const error = relativeL2(feature.data as Float32Array, floats(ref.image_embeds));
      assert.ok(error < 1e-4, `encodeImages relative error ${error}`);
      const fromEmbeddings = await engine.generate({
        inputIds,
        imageData: [{ format: "precomputed_embedding", feature, image_grid_thw: po.image_grid_thw }],
        samplingParams: GREEDY,
      });
      assert.deepEqual(fromEmbeddings.outputIds, raw.outputIds);
      // A prompt with one placeholder per image is expanded the same way for precomputed embeddings.
      const fromPrompt = await engine.generate({
        prompt: c.prompt,
        imageData: [{ format: "precomputed_embedding", feature, image_grid_thw: po.image_grid_thw }],
        samplingParams: GREEDY,
      });
      assert.deepEqual(fromPrompt.outputIds, raw.outputIds);
    });
  });
}

describe("precomputed embeddings with the prefix cache off (no content keys: nothing reads them)", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(MODEL), disableRadixCache: true });
  });
  after(() => engine.shutdown());

  test("two pictures' embeddings, each given twice in turn, give their own picture's tokens every time", async () => {
    const prompt = loadCases(MODEL).find((x) => x.name === "one_image")!.prompt;
    const pictures = [...new Set(loadCases(MODEL).flatMap((x) => x.imagePaths))];
    assert.ok(pictures.length >= 2, "precondition: two pictures");
    const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(MODEL), engine.tokenizer);
    const runs = await Promise.all(pictures.slice(0, 2).map(async (picture) => {
      const po = await processor.process({ text: prompt, images: [picture] });
      const feature = await engine.encodeImages([{ ...po, format: "processor_output" }]);
      const raw = await engine.generate({ prompt, imageData: [picture], samplingParams: GREEDY });
      const item = { format: "precomputed_embedding" as const, feature, image_grid_thw: po.image_grid_thw };
      return { inputIds: toNumbers(po.input_ids), item, raw };
    }));
    assert.notDeepEqual(runs[0].raw.outputIds, runs[1].raw.outputIds, "precondition: the pictures give different tokens");
    for (const run of [...runs, ...runs]) {
      const out = await engine.generate({ inputIds: run.inputIds, imageData: [run.item], samplingParams: GREEDY });
      assert.deepEqual(out.outputIds, run.raw.outputIds);
    }
  });
});
