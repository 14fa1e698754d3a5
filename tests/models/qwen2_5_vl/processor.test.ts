/**
 * Qwen2.5-VL processor parity with the reference (transformers 5, torchvision path) on every fixture case, from
 * both model-folder layouts: input_ids and image_grid_thw identical, pixel_values within the float16 storage error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isIrisError } from "../../../src/core/errors.js";
import { toFloat32, toNumbers } from "../../../src/core/host-tensor.js";
import { loadImage } from "../../../src/multimodal/image-input.js";
import { Qwen2_5VLProcessor } from "../../../src/multimodal/qwen2-5-vl-processor.js";
import { LAYOUTS, loadCaseTensors, loadCases, loadTrace, modelDir } from "../../helpers/fixtures.js";
import { jsTokenizer, rustTokenizer } from "../../unit/multimodal/test-tokenizers.js";

const MODEL = "tiny-qwen2_5-vl";
const cases = loadCases(MODEL);

function errors(actual: Float32Array, expected: Float32Array): { max: number; mean: number } {
  assert.equal(actual.length, expected.length);
  let max = 0, sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > max) max = d;
    sum += d;
  }
  return { max, mean: sum / actual.length };
}

for (const layout of LAYOUTS[MODEL]) {
  test(`${layout}: every case matches the reference processor`, async () => {
    const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(layout), jsTokenizer(modelDir(layout)));
    for (const c of cases) {
      const out = await processor.process({ text: c.prompt, images: c.imagePaths });
      const ref = loadCaseTensors(MODEL, c.name);
      assert.deepEqual(toNumbers(out.input_ids), toNumbers(ref.input_ids), `${c.name} input_ids`);
      if (c.images.length === 0) {
        assert.equal(out.pixel_values, undefined);
        continue;
      }
      assert.ok(out.pixel_values && out.image_grid_thw);
      assert.deepEqual(out.image_grid_thw.shape, ref.image_grid_thw.shape);
      assert.deepEqual(toNumbers(out.image_grid_thw), toNumbers(ref.image_grid_thw), `${c.name} image_grid_thw`);
      assert.deepEqual(out.pixel_values.shape, ref.pixel_values.shape);
      assert.equal(out.pixel_values.dtype, "F32");
      const { max, mean } = errors(toFloat32(out.pixel_values), toFloat32(ref.pixel_values));
      console.log(`${layout} ${c.name}: pixel_values vs float16 reference: max ${max.toExponential(3)}, mean ${mean.toExponential(3)}`);
      assert.ok(max <= 0.03, `${c.name}: max error ${max}`);
      assert.ok(mean < 2e-3, `${c.name}: mean error ${mean}`);
    }
  });
}

test("one_image pixel_values equal the reference's exact float32 trace", async () => {
  const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(MODEL), jsTokenizer(modelDir(MODEL)));
  const c = cases.find((k) => k.name === "one_image");
  assert.ok(c);
  const out = await processor.process({ text: c.prompt, images: c.imagePaths });
  assert.ok(out.pixel_values);
  const { max, mean } = errors(toFloat32(out.pixel_values), toFloat32(loadTrace(MODEL).pixel_values_f32));
  console.log(`one_image vs float32 trace: max ${max}, mean ${mean}`);
  assert.equal(max, 0);
});

test("an asynchronous tokenizer (the Rust binding) gives the same ids", async () => {
  const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(MODEL), rustTokenizer(modelDir(MODEL)));
  const c = cases.find((k) => k.name === "two_images");
  assert.ok(c);
  const out = await processor.process({ text: c.prompt, images: c.imagePaths });
  assert.deepEqual(toNumbers(out.input_ids), toNumbers(loadCaseTensors(MODEL, c.name).input_ids));
});

test("input ids with one <|image_pad|> per image expand to the reference ids (SGLang's inputIds + images)", async () => {
  const tokenizer = jsTokenizer(modelDir(MODEL));
  const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(MODEL), tokenizer);
  for (const c of cases.filter((k) => k.images.length > 0)) {
    const images = await Promise.all(c.imagePaths.map((p) => loadImage(p)));
    const grids = images.map((image) => processor.imageProcessor.gridThw(image.width, image.height));
    const expanded = processor.expandInputIds(await tokenizer.encode(c.prompt), grids);
    assert.deepEqual(expanded, toNumbers(loadCaseTensors(MODEL, c.name).input_ids), c.name);
  }
});

test("placeholders and images must pair up: IMAGE_TOKEN_MISMATCH before any image is loaded", async () => {
  const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(MODEL), jsTokenizer(modelDir(MODEL)));
  const [one, two] = ["one_image", "two_images"].map((name) => cases.find((k) => k.name === name)!);
  const mismatch = (e: unknown): boolean => isIrisError(e, "IMAGE_TOKEN_MISMATCH") && /<\|image_pad\|>/.test((e as Error).message);
  await assert.rejects(processor.process({ text: one.prompt, images: two.imagePaths }), mismatch);
  await assert.rejects(processor.process({ text: two.prompt, images: one.imagePaths }), mismatch);
  await assert.rejects(processor.process({ text: one.prompt }), mismatch);
  await assert.rejects(processor.process({ text: "no placeholder", images: ["/does/not/exist.png"] }), mismatch);
});

test("images under 28 pixels or with an extreme aspect ratio are refused with their own codes", async () => {
  const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(MODEL), jsTokenizer(modelDir(MODEL)));
  const text = "<|vision_start|><|image_pad|><|vision_end|>";
  const small = { data: new Uint8Array(20 * 40 * 3), width: 40, height: 20 };
  await assert.rejects(processor.process({ text, images: [small] }), (e: unknown) => isIrisError(e, "IMAGE_TOO_SMALL"));
  const thin = { data: new Uint8Array(28 * 6000 * 3), width: 6000, height: 28 };
  await assert.rejects(processor.process({ text, images: [thin] }), (e: unknown) => isIrisError(e, "IMAGE_ASPECT_RATIO"));
});

test("placeholders side by side (two images, no text between) give the ids of the expanded text", async () => {
  // The prompt is tokenized with one placeholder an image and the ids expanded, unless placeholders touch: their ids
  // would form one run for two images. Either way the ids are those of tokenizing the expanded text.
  const processor = await Qwen2_5VLProcessor.fromPretrained(modelDir(MODEL), jsTokenizer(modelDir(MODEL)));
  const images = cases.find((c) => c.name === "one_image")!.imagePaths;
  const pad = processor.imageToken;
  for (const text of [`Compare ${pad} with ${pad}, please.`, `Compare ${pad}${pad} please.`]) {
    const out = await processor.process({ text, images: [images[0], images[0]] });
    const counts = out.grids.map((g) => processor.imageProcessor.tokensForGrid(g));
    let k = 0;
    const expanded = text.replaceAll(pad, () => pad.repeat(counts[k++]));
    assert.deepEqual(toNumbers(out.input_ids), [...await processor.tokenizer.encode(expanded)], text);
  }
});
