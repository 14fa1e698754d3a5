// patchifyImage on cuda against the cpu backend: the same 8-bit pixels and level table give the cpu's float32
// pixel_values rounded once to bf16, exactly (every output is one table entry). And the runner's path for raw
// pictures on cuda (source bytes uploaded, resizeImage to the grid, patchifyImage): the processor's "patches"
// output, rounded once to bf16, exactly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadModelConfig } from "../../src/checkpoint/model-config.js";
import { roundToBf16 } from "../../src/core/half.js";
import { packBytes, patchifyImage } from "../../src/kernels/patchify-image.js";
import { Qwen2VLImageProcessor } from "../../src/multimodal/qwen2-vl-image-processor.js";
import { visionPixels } from "../../src/runner/device-pixels.js";
import { concatPayloads, type PixelPayload } from "../../src/runner/vision-passes.js";
import { fromHost } from "../../src/runtime/creation.js";
import { modelDir } from "../helpers/fixtures.js";
import { photoLikePicture, randomPicture } from "../helpers/resize-cases.js";
import { cpu, cuda, host, rng, skipCuda } from "./harness.js";

describe("cuda patchifyImage", { skip: skipCuda }, () => {
  test("resized pictures of several shapes: the cpu's patch rows in bf16, exactly", async () => {
    // The tiny fixture travels to the GPU machine (its processor settings are those of the real checkpoints).
    const processor = await Qwen2VLImageProcessor.fromPretrained(modelDir("tiny-qwen2_5-vl"));
    const { patchSize, mergeSize, temporalPatchSize } = processor.config;
    const random = rng(3);
    for (const [width, height] of [[28, 28], [56, 112], [504, 504], [1092, 252]]) {
      const bytes = new Uint8Array(width * height * 3);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      const geometry = { width, height, patchSize, mergeSize, temporalPatchSize };
      const run = async (on: typeof cpu) => host(patchifyImage(fromHost(on, packBytes(bytes), { dtype: "I32" }),
        fromHost(on, processor.levelTable, { shape: [3, 256], dtype: "F32" }), geometry));
      const expected = (await run(cpu)).map(roundToBf16), got = await run(cuda());
      assert.equal(got.length, expected.length);
      const bad = got.findIndex((v, i) => v !== expected[i]);
      assert.equal(bad, -1, `${width}x${height}: element ${bad}: ${got[bad]} vs ${expected[bad]}`);
    }
  });

  test("raw pictures through the runner's rgb8 path: the processor's patches in bf16, exactly", async () => {
    const dir = modelDir("tiny-qwen2_5-vl");
    const processor = await Qwen2VLImageProcessor.fromPretrained(dir);
    const config = loadModelConfig(join(dir, "config.json"));
    // Down (512x512 -> 504x504, twice: one set of weights), up, one side unchanged, already at its grid's size.
    const pictures = [photoLikePicture(512, 512, 1), randomPicture(512, 512, 2), randomPicture(45, 60, 3), randomPicture(56, 97, 4),
      randomPicture(56, 56, 5)].map(({ width, height, data }) => ({ width, height, data }));
    const payloads = pictures.map((image): PixelPayload => {
      const f = processor.rgb8One(image);
      return { kind: "rgb8", pixels: f.pixel_values, sourceSizes: [f.sourceSize!], imageGrids: [[...f.grid!]], resample: processor.config.resample,
        levelTable: processor.levelTable };
    });
    const mm = concatPayloads(payloads);
    assert.equal(mm.kind, "rgb8");
    const expected = (processor.preprocess(pictures).pixel_values.data as Float32Array).map(roundToBf16);
    const got = await host(visionPixels(cuda(), config, mm));
    assert.equal(got.length, expected.length);
    const bad = got.findIndex((v, i) => v !== expected[i]);
    assert.equal(bad, -1, `element ${bad}: ${got[bad]} vs ${expected[bad]}`);
  });
});
