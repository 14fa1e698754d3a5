/**
 * patchifyImage on the cpu backend: from a picture's resized 8-bit pixels and the processor's level table, the very
 * pixel_values the Qwen2-VL processor gives (the reference the cuda kernel is tested against in tests/cuda).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { packBytes, patchifyImage } from "../../../src/kernels/patchify-image.js";
import { Qwen2VLImageProcessor } from "../../../src/multimodal/qwen2-vl-image-processor.js";
import { downloadFloat32, fromHost } from "../../../src/runtime/creation.js";
import { modelDir } from "../../helpers/fixtures.js";
import { assertIrisError, device, rng } from "./helpers.js";

const processor = await Qwen2VLImageProcessor.fromPretrained(modelDir("qwen2_5-vl-3b-shape"));
const { patchSize, mergeSize, temporalPatchSize } = processor.config;

function picture(width: number, height: number, seed: number) {
  const random = rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
  return { width, height, data };
}

for (const [width, height] of [[56, 56], [97, 150], [512, 512], [640, 123]]) {
  test(`${width}x${height}: the processor's pixel_values, exactly`, async () => {
    const image = picture(width, height, width * 7 + height);
    const expected = processor.preprocess([image]).pixel_values;
    const resized = processor.resize(image);
    const pixels = fromHost(device, packBytes(resized.data), { dtype: "I32" });
    const table = fromHost(device, processor.levelTable, { shape: [3, 256] });
    const out = patchifyImage(pixels, table, { width: resized.width, height: resized.height, patchSize, mergeSize, temporalPatchSize });
    assert.deepEqual(out.shape, expected.shape);
    const got = await downloadFloat32(out), want = expected.data as Float32Array;
    const bad = got.findIndex((v, i) => v !== want[i]);
    assert.equal(bad, -1, `element ${bad}: ${got[bad]} vs ${want[bad]}`);
  });
}

test("sides that are not multiples of patch x merge, and a pixel buffer of the wrong length, are refused", () => {
  const table = fromHost(device, processor.levelTable, { shape: [3, 256] });
  const geometry = { width: 30, height: 28, patchSize, mergeSize, temporalPatchSize };
  assertIrisError(() => patchifyImage(fromHost(device, new Int32Array(630), { dtype: "I32" }), table, geometry), "INVALID_ARGUMENT");
  assertIrisError(() => patchifyImage(fromHost(device, new Int32Array(10), { dtype: "I32" }), table, { ...geometry, width: 28 }), "INVALID_ARGUMENT");
});
