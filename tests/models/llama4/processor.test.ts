/**
 * Llama 4 processor parity with the reference (transformers 5, torchvision path) on every fixture case, from both
 * model-folder layouts: input_ids identical (two <|begin_of_text|>: the template's and the post-processor's),
 * pixel_values within 0.02 of the float16-stored reference and equal to the float32 trace.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isIrisError } from "../../../src/core/errors.js";
import { toFloat32, toNumbers } from "../../../src/core/host-tensor.js";
import { Llama4Processor } from "../../../src/multimodal/llama4-processor.js";
import { LAYOUTS, loadCaseTensors, loadCases, loadTrace, modelDir } from "../../helpers/fixtures.js";
import { jsTokenizer, rustTokenizer } from "../../unit/multimodal/test-tokenizers.js";

const MODEL = "tiny-llama4";
const cases = loadCases(MODEL);
const BOS = 128000;

function maxError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

for (const layout of LAYOUTS[MODEL]) {
  test(`${layout}: every case matches the reference processor`, async () => {
    const dir = modelDir(layout);
    const processor = await Llama4Processor.fromPretrained(dir, jsTokenizer(dir));
    for (const c of cases) {
      const out = await processor.process({ text: c.prompt, images: c.imagePaths });
      const ref = loadCaseTensors(MODEL, c.name);
      const ids = toNumbers(out.input_ids);
      assert.deepEqual(ids, toNumbers(ref.input_ids), `${c.name} input_ids`);
      assert.deepEqual(ids.slice(0, 2), [BOS, BOS]);
      if (c.images.length === 0) continue;
      assert.ok(out.pixel_values);
      assert.deepEqual(out.pixel_values.shape, ref.pixel_values.shape);
      assert.deepEqual(out.aspectRatios, [[2, 2]]);
      const max = maxError(toFloat32(out.pixel_values), toFloat32(ref.pixel_values));
      console.log(`${layout} ${c.name}: pixel_values vs float16 reference: max ${max}`);
      assert.ok(max <= 0.02, `${c.name}: max error ${max}`);
    }
  });
}

test("one_image pixel_values equal the reference's float32 trace; the Rust tokenizer gives the same ids", async () => {
  const dir = modelDir(MODEL);
  const processor = await Llama4Processor.fromPretrained(dir, rustTokenizer(dir));
  const c = cases.find((k) => k.name === "one_image");
  assert.ok(c);
  const out = await processor.process({ text: c.prompt, images: c.imagePaths });
  assert.ok(out.pixel_values);
  assert.equal(out.pixel_values.dtype, "BF16");
  const max = maxError(toFloat32(out.pixel_values), toFloat32(loadTrace(MODEL).pixel_values_f32));
  console.log(`one_image vs float32 trace: max ${max}`);
  assert.equal(max, 0);
  assert.deepEqual(toNumbers(out.input_ids), toNumbers(loadCaseTensors(MODEL, c.name).input_ids));
});

test("placeholders and images must pair up: IMAGE_TOKEN_MISMATCH", async () => {
  const dir = modelDir(MODEL);
  const processor = await Llama4Processor.fromPretrained(dir, jsTokenizer(dir));
  const c = cases.find((k) => k.name === "one_image")!;
  const mismatch = (e: unknown): boolean => isIrisError(e, "IMAGE_TOKEN_MISMATCH") && /<\|image\|>/.test((e as Error).message);
  await assert.rejects(processor.process({ text: c.prompt, images: [...c.imagePaths, ...c.imagePaths] }), mismatch);
  await assert.rejects(processor.process({ text: c.prompt }), mismatch);
  await assert.rejects(processor.process({ text: "plain text", images: c.imagePaths }), mismatch);
  await assert.rejects(processor.process({ text: "<|image|><|image|>", images: c.imagePaths }), mismatch);
});
