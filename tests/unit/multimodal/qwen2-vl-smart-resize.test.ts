/**
 * smart_resize against the worked examples of the reference notes (model-facts A1) and Python's rounding rules.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isIrisError } from "../../../src/core/errors.js";
import { roundHalfEven, smartResize } from "../../../src/multimodal/qwen2-vl-smart-resize.js";

const HUB = { factor: 28, minPixels: 3136, maxPixels: 12845056 };

test("Python round: ties to even", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 7].map(roundHalfEven), [0, 2, 2, 4, 2, 3, 7]);
});

test("worked examples with the Hub's max_pixels 12845056", () => {
  assert.deepEqual(smartResize(480, 640, HUB), [476, 644]);
  assert.deepEqual(smartResize(1080, 1920, HUB), [1092, 1932]);
  assert.deepEqual(smartResize(4000, 6000, HUB), [2912, 4368]);
});

test("the class default max_pixels 1003520 scales 4000x6000 down to 812x1204", () => {
  assert.deepEqual(smartResize(4000, 6000, { factor: 28, minPixels: 3136, maxPixels: 1003520 }), [812, 1204]);
});

test("round half to even on the side: 70 -> 56 (not 84), 42 -> 56", () => {
  assert.deepEqual(smartResize(70, 42, HUB), [56, 56]);
  assert.deepEqual(smartResize(98, 126, HUB), [112, 112]); // 3.5 -> 4, 4.5 -> 4
});

test("min_pixels scales small images up: ceil after sqrt(min / area)", () => {
  // 28x28 = 784 < 3136: beta = sqrt(3136 / 784) = 2 -> 56x56.
  assert.deepEqual(smartResize(28, 28, HUB), [56, 56]);
});

test("sides under 28 are IMAGE_TOO_SMALL; an aspect ratio over 200 is IMAGE_ASPECT_RATIO", () => {
  assert.throws(() => smartResize(27, 500, HUB), (e: unknown) => isIrisError(e, "IMAGE_TOO_SMALL") && /27/.test((e as Error).message));
  assert.throws(() => smartResize(500, 10, HUB), (e: unknown) => isIrisError(e, "IMAGE_TOO_SMALL"));
  assert.throws(() => smartResize(28, 5601, HUB), (e: unknown) => isIrisError(e, "IMAGE_ASPECT_RATIO") && /200/.test((e as Error).message));
  assert.deepEqual(smartResize(28, 5600, HUB), [28, 5600]); // exactly 200 is allowed
});
