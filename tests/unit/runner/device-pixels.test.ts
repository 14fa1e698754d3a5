/**
 * The runner's path for raw Qwen pictures (`rgb8`: source bytes, resized and patchified on the device) on the cpu
 * device: the processor's "patches" output exactly, for several pictures in one payload (a repeated resize, down,
 * up, one side unchanged, one already at its grid's size). tests/cuda/patchify-image.test.ts checks cuda's in bf16.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModelConfig } from "../../../src/checkpoint/model-config.js";
import { IrisError } from "../../../src/core/errors.js";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { Qwen2VLImageProcessor } from "../../../src/multimodal/qwen2-vl-image-processor.js";
import { visionPixels } from "../../../src/runner/device-pixels.js";
import { concatPayloads, type PixelPayload } from "../../../src/runner/vision-passes.js";
import { downloadFloat32 } from "../../../src/runtime/creation.js";
import { getDevice } from "../../../src/runtime/device.js";
import { modelDir } from "../../helpers/fixtures.js";
import { photoLikePicture, randomPicture } from "../../helpers/resize-cases.js";

const dir = modelDir("tiny-qwen2_5-vl");
const processor = await Qwen2VLImageProcessor.fromPretrained(dir);
const config = loadModelConfig(join(dir, "config.json"));
const device = getDevice("cpu");

function rgb8(image: { width: number; height: number; data: Uint8Array }): PixelPayload {
  const f = processor.rgb8One(image);
  return { kind: "rgb8", pixels: f.pixel_values, sourceSizes: [f.sourceSize!], imageGrids: [[...f.grid!]], resample: processor.config.resample,
    levelTable: processor.levelTable };
}

test("several raw pictures in one payload: the processor's pixel_values, exactly", async () => {
  const pictures = [photoLikePicture(512, 512, 1), randomPicture(512, 512, 2), randomPicture(45, 60, 3), randomPicture(56, 97, 4),
    randomPicture(56, 56, 5)].map(({ width, height, data }) => ({ width, height, data }));
  const mm = concatPayloads(pictures.map(rgb8));
  assert.equal(mm.kind, "rgb8");
  const expected = processor.preprocess(pictures).pixel_values;
  const got = visionPixels(device, config, mm);
  assert.deepEqual(got.shape, expected.shape);
  assert.deepEqual(await downloadFloat32(got), expected.data);
});

test("bytes that do not match the source sizes are refused", () => {
  const mm = rgb8(randomPicture(45, 60, 3));
  assert.ok(mm.kind === "rgb8");
  const short = { ...mm, pixels: hostTensor("U8", [45 * 60 * 3 - 3], (mm.pixels.data as Uint8Array).subarray(3)) };
  assert.throws(() => visionPixels(device, config, short), (err: unknown) => err instanceof IrisError && err.code === "IMAGE_TOKEN_MISMATCH");
});
