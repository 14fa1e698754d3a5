/**
 * patchifyOnDevice (on by default for cuda, asked for here on the cpu): raw pictures travel as decoded, 8-bit bytes
 * at their source sizes, and the device resizes, rescales, normalizes and patchifies them. Everything a user sees is
 * as with the processor's pixel values: the vision tower's output, greedy outputs, prefix-cache hits on a repeat. (The
 * pixel values themselves are equal bit for bit: tests/unit/kernels/resize-image.test.ts, patchify-image.test.ts,
 * tests/unit/runner/device-pixels.test.ts, vision-batch.test.ts.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import { toFloat32 } from "../../src/core/host-tensor.js";
import { modelDir } from "../helpers/fixtures.js";
import { relativeL2 } from "../helpers/numerics.js";
import { QWEN, assertSameOutput, casesByName, greedy } from "../helpers/engine-helpers.js";

const cases = casesByName(QWEN);

describe("patchifyOnDevice on the cpu device", () => {
  let host: Engine, device: Engine;
  before(async () => {
    [host, device] = await Promise.all([
      Engine.create({ modelPath: modelDir(QWEN) }),
      Engine.create({ modelPath: modelDir(QWEN), patchifyOnDevice: true }),
    ]);
  });
  after(() => Promise.all([host.shutdown(), device.shutdown()]));

  test("encodeImages gives the same embeddings", async () => {
    const images = cases.two_images.imagePaths;
    const [a, b] = await Promise.all([host.encodeImages(images), device.encodeImages(images)]);
    assert.deepEqual(b.shape, a.shape);
    // Not bit for bit: two engines with the same settings already differ by ~3e-7 here (the cpu products' order).
    const error = relativeL2(toFloat32(b), toFloat32(a));
    assert.ok(error < 1e-6, `relative error ${error}`);
  });

  test("a batch of prompts with one and two pictures gives the same greedy outputs; a repeat hits the prefix cache", async () => {
    const order = [cases.one_image, cases.two_images];
    const request = { prompt: order.map((c) => c.prompt), imageData: order.map((c) => c.imagePaths), samplingParams: greedy(8) };
    const [expected, got] = await Promise.all([host.generate(request), device.generate(request)]);
    order.forEach((c, i) => assertSameOutput(got[i], expected[i], c.name));
    const again = await device.generate({ prompt: cases.one_image.prompt, imageData: cases.one_image.imagePaths, samplingParams: greedy(8) });
    assertSameOutput(again, expected[0], "repeat");
    assert.ok(again.metaInfo.cachedTokens > 0, "the repeat's image should be found in the prefix cache");
  });
});
