// resizeImage on cuda against the cpu backend (itself the processor's resizeUint8, tests/unit/kernels): the same
// bytes for every case of tests/helpers/resize-cases.ts and for 512x512 pictures resized to their grid (504x504),
// as the runner resizes raw pictures before patchifying them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PixelBuffer } from "../../src/multimodal/resample.js";
import type { ResampleFilter } from "../../src/core/resample-passes.js";
import { RESIZE_CASES, photoLikePicture, randomPicture, resizeOnDevice } from "../helpers/resize-cases.js";
import { cpu, cuda, skipCuda } from "./harness.js";

async function expectSameBytes(picture: PixelBuffer, width: number, height: number, filter: ResampleFilter, what: string): Promise<void> {
  const expected = await resizeOnDevice(cpu, picture, width, height, filter);
  const got = await resizeOnDevice(cuda(), picture, width, height, filter);
  assert.equal(got.length, expected.length, `${what}: length`);
  const bad = got.findIndex((v, i) => v !== expected[i]);
  assert.equal(bad, -1, `${what}: byte ${bad}: ${got[bad]} vs ${expected[bad]}`);
}

describe("cuda resizeImage", { skip: skipCuda }, () => {
  test("every resize case: the cpu's bytes, exactly", async () => {
    for (const [k, { name, src, dst, filter }] of RESIZE_CASES.entries()) {
      await expectSameBytes(randomPicture(src[0], src[1], 100 + k), dst[0], dst[1], filter, `${name} ${src.join("x")} -> ${dst.join("x")}`);
    }
  });

  test("512x512 pictures (photo-like and random) to their 504x504 grid; 1920x1080 to its grid (1932x1092) and down to 1316x728", async () => {
    await expectSameBytes(photoLikePicture(512, 512, 7), 504, 504, "bicubic", "photo-like 512x512");
    await expectSameBytes(randomPicture(512, 512, 8), 504, 504, "bicubic", "random 512x512");
    const large = photoLikePicture(1920, 1080, 9);
    await expectSameBytes(large, 1932, 1092, "bicubic", "photo-like 1920x1080 up");
    await expectSameBytes(large, 1316, 728, "bicubic", "photo-like 1920x1080 down");
  });
});
