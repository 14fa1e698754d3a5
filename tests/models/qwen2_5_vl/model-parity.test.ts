import { test } from "node:test";
import assert from "node:assert/strict";
import { toNumbers } from "../../../src/core/host-tensor.js";
import { downloadFloat32, fromHost } from "../../../src/runtime/creation.js";
import { getDevice } from "../../../src/runtime/device.js";
import { LAYOUTS, loadCases, loadCaseTensors, loadTrace } from "../../helpers/fixtures.js";
import { floats, relativeL2 } from "../../helpers/numerics.js";
import { loadFixtureModel, promptLogits } from "../../helpers/model-harness.js";

const MODEL = "tiny-qwen2_5-vl";

for (const layout of LAYOUTS[MODEL]) {
  const { model } = loadFixtureModel(layout);
  const device = getDevice("cpu");

  test(`${layout}: the vision tower matches image_embeds on the trace's exact pixels`, async () => {
    const trace = loadTrace(MODEL);
    const ref = loadCaseTensors(MODEL, "one_image");
    const grid = toNumbers(ref.image_grid_thw);
    const embeds = model.encodeImages({ pixelValues: fromHost(device, trace.pixel_values_f32), imageGrids: [grid] });
    const error = relativeL2(await downloadFloat32(embeds), floats(ref.image_embeds));
    assert.ok(error < 1e-4, `relative error ${error}`);
    console.log(`vision relative error ${error.toExponential(2)}`);
  });

  for (const c of loadCases(MODEL)) {
    test(`${layout}/${c.name}: first logits match the reference`, async () => {
      const ref = loadCaseTensors(MODEL, c.name);
      const ids = Int32Array.from(toNumbers(ref.input_ids));
      const L = ids.length;
      const pos = toNumbers(ref.position_ids);
      const positions = Int32Array.from({ length: L * 3 }, (_, i) => pos[(i % 3) * L + Math.floor(i / 3)]);
      let embeds = null;
      if (c.images.length) {
        const grid = toNumbers(ref.image_grid_thw);
        const grids = Array.from({ length: grid.length / 3 }, (_, i) => grid.slice(3 * i, 3 * i + 3));
        embeds = model.encodeImages({ pixelValues: fromHost(device, ref.pixel_values), imageGrids: grids });
        const visionError = relativeL2(await downloadFloat32(embeds), floats(ref.image_embeds));
        // The stored pixels are float16, so the tower sees rounded inputs; the embeddings still agree closely.
        assert.ok(visionError < 1e-3, `vision relative error ${visionError}`);
        console.log(`${c.name}: vision relative error from float16 pixels ${visionError.toExponential(2)}`);
        // Feed the reference embeddings to the decoder, to test the decoder alone.
        embeds = fromHost(device, ref.image_embeds);
      }
      const logits = await downloadFloat32(promptLogits(model, ids, positions, embeds));
      const error = relativeL2(logits, floats(ref.first_logits));
      assert.ok(error < 1e-3, `logits relative error ${error}`);
      console.log(`${c.name}: logits relative error ${error.toExponential(2)}`);
    });
  }
}

test("the weight footprint of the real 3B and 7B configs, from the config alone", async () => {
  const { loadModelConfig } = await import("../../../src/checkpoint/model-config.js");
  const { weightFootprint } = await import("../../../src/models/weight-footprint.js");
  const { modelDir } = await import("../../helpers/fixtures.js");
  const { join } = await import("node:path");
  const b3 = weightFootprint(loadModelConfig(join(modelDir("qwen2_5-vl-3b-shape"), "config.json")), 2);
  const b7 = weightFootprint(loadModelConfig(join(modelDir("qwen2_5-vl-7b-shape"), "config.json")), 2);
  // Qwen2.5-VL-3B-Instruct has 3.75B parameters (tied head); 7B-Instruct 8.29B.
  assert.ok(Math.abs(b3.parameters - 3.755e9) < 0.01e9, `3B: ${b3.parameters}`);
  assert.ok(Math.abs(b7.parameters - 8.292e9) < 0.01e9, `7B: ${b7.parameters}`);
  assert.ok(!b3.weights.some((w) => w.name === "lm_head.weight"));
  assert.ok(b7.weights.some((w) => w.name === "lm_head.weight"));
});
