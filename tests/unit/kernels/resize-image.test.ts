/**
 * resizeImage on the cpu backend: the processor's `resizeUint8`, byte for byte (the reference the cuda kernels are
 * tested against in tests/cuda/resize-image.test.ts), and its argument checks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { packAxisWeights } from "../../../src/core/resample-passes.js";
import { packBytes } from "../../../src/kernels/patchify-image.js";
import { resizeImage, uploadAxisWeights } from "../../../src/kernels/resize-image.js";
import { computeAxisWeights, resizeUint8 } from "../../../src/multimodal/resample.js";
import { fromHost } from "../../../src/runtime/creation.js";
import { RESIZE_CASES, randomPicture, resizeOnDevice } from "../../helpers/resize-cases.js";
import { assertIrisError, device, otherDevice } from "./helpers.js";

for (const [k, { name, src, dst, filter }] of RESIZE_CASES.entries()) {
  test(`${name}: ${src.join("x")} -> ${dst.join("x")} (${filter}) equals resizeUint8`, async () => {
    const picture = randomPicture(src[0], src[1], 100 + k);
    const expected = resizeUint8(picture, dst[0], dst[1], filter).data;
    const got = await resizeOnDevice(device, picture, dst[0], dst[1], filter);
    assert.equal(got.length, expected.length);
    const bad = got.findIndex((v, i) => v !== expected[i]);
    assert.equal(bad, -1, `byte ${bad}: ${got[bad]} vs ${expected[bad]}`);
  });
}

test("weights that do not match the sizes, a pixel buffer of the wrong length, other devices are refused", () => {
  const pixels = fromHost(device, packBytes(randomPicture(10, 8, 1).data), { dtype: "I32" });
  const h = uploadAxisWeights(device, computeAxisWeights(10, 6, "bicubic"), 10);
  const v = uploadAxisWeights(device, computeAxisWeights(8, 5, "bicubic"), 8);
  const resize = { srcWidth: 10, srcHeight: 8, width: 6, height: 5, horizontal: h, vertical: v };
  assert.equal(resizeImage(pixels, resize).numel, Math.ceil((6 * 5 * 3) / 4));
  assertIrisError(() => resizeImage(pixels, { ...resize, vertical: null }), "INVALID_ARGUMENT", /vertical/);
  assertIrisError(() => resizeImage(pixels, { ...resize, height: 8 }), "INVALID_ARGUMENT", /vertical/);
  assertIrisError(() => resizeImage(pixels, { ...resize, width: 7 }), "INVALID_ARGUMENT", /horizontal.table/);
  assertIrisError(() => resizeImage(pixels, { ...resize, srcWidth: 11 }), "INVALID_ARGUMENT", /pixels/);
  assertIrisError(() => resizeImage(pixels, { ...resize, horizontal: { ...h, precision: 30 } }), "INVALID_ARGUMENT");
  assertIrisError(() => resizeImage(pixels, { ...resize, width: 0 }), "INVALID_ARGUMENT");
  assertIrisError(() => resizeImage(fromHost(otherDevice, packBytes(randomPicture(10, 8, 1).data), { dtype: "I32" }), resize), "INVALID_ARGUMENT");
  // Weights that read past the input they are for cannot be packed.
  assertIrisError(() => packAxisWeights(computeAxisWeights(10, 6, "bicubic"), 9), "INTERNAL");
});
