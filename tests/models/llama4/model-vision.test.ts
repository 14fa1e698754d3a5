/**
 * Llama 4's vision model against the reference trace, stage by stage, on the trace's exact float32 pixels; then the
 * cases' float16 pixels. Both model-folder layouts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { downloadFloat32, fromHost } from "../../../src/runtime/creation.js";
import { getDevice } from "../../../src/runtime/device.js";
import type { Llama4 } from "../../../src/models/llama4.js";
import { LAYOUTS, loadCases, loadCaseTensors, loadTrace } from "../../helpers/fixtures.js";
import { floats, relativeL2 } from "../../helpers/numerics.js";
import { loadFixtureModel } from "../../helpers/model-harness.js";

const MODEL = "tiny-llama4";
const STAGES = ["patch_embedding", "layernorm_pre", "layers.0", "layers.1", "layernorm_post", "vision_adapter", "projector"];

for (const layout of LAYOUTS[MODEL]) {
  const model = loadFixtureModel(layout).model as Llama4;
  const device = getDevice("cpu");

  test(`${layout}: every vision stage, vision_features and image_embeds match the trace's exact pixels`, async () => {
    const trace = loadTrace(MODEL);
    const ref = loadCaseTensors(MODEL, "one_image");
    // Read each stage when it is observed: the vision layers update their residual stream in place.
    const stages = new Map<string, Promise<Float32Array>>();
    const embeds = model.encodeImages({ pixelValues: fromHost(device, trace.pixel_values_f32) }, (stage, x) => stages.set(stage, downloadFloat32(x)));
    assert.deepEqual([...stages.keys()], STAGES);
    for (const stage of STAGES) {
      // The trace keeps the class token in every stage up to layernorm_post (as the last token of each tile).
      const error = relativeL2(await stages.get(stage)!, floats(trace[`vision.${stage}`]));
      console.log(`${layout} vision.${stage}: relative error ${error.toExponential(2)}`);
      assert.ok(error < 1e-5, `vision.${stage}: relative error ${error}`);
    }
    const features = relativeL2(await stages.get("vision_adapter")!, floats(ref.vision_features));
    const projected = relativeL2(await downloadFloat32(embeds), floats(ref.image_embeds));
    console.log(`${layout}: vision_features ${features.toExponential(2)}, image_embeds ${projected.toExponential(2)}`);
    assert.ok(features < 1e-4, `vision_features relative error ${features}`);
    assert.ok(projected < 1e-4, `image_embeds relative error ${projected}`);
    assert.deepEqual(embeds.shape, [ref.image_embeds.shape[0], model.embeddingSize]);
  });

  for (const c of loadCases(MODEL).filter((k) => k.images.length > 0)) {
    test(`${layout}/${c.name}: image_embeds from the case's float16 pixels`, async () => {
      const ref = loadCaseTensors(MODEL, c.name);
      const embeds = await downloadFloat32(model.encodeImages({ pixelValues: fromHost(device, ref.pixel_values) }));
      const error = relativeL2(embeds, floats(ref.image_embeds));
      console.log(`${layout}/${c.name}: image_embeds from float16 pixels ${error.toExponential(2)}`);
      // The processor's pixels are bfloat16 values in [-1, 1], which float16 stores exactly: same bound as the trace.
      assert.ok(error < 1e-4, `image_embeds relative error ${error}`);
    });
  }
}

test("pixel values of the wrong tile size are refused", () => {
  const model = loadFixtureModel(MODEL).model;
  const pixels = fromHost(getDevice("cpu"), new Float32Array(3 * 224 * 224), { shape: [1, 3, 224, 224] });
  assert.throws(() => model.encodeImages({ pixelValues: pixels }), /\[tiles, 3, 336, 336\]/);
});
