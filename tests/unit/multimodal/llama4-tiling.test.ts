/**
 * Llama 4 tile-grid choice and resize target, against the examples in transformers' docstrings and the worked
 * example of the reference notes (model-facts B1), plus extreme shapes worked out from the same rules.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bestFitCanvas, maxResWithoutDistortion, resizeTarget, supportedCanvases } from "../../../src/multimodal/llama4-tiling.js";

test("canvases for 4 tiles come in the reference's order (grouped by aspect ratio, first seen first)", () => {
  assert.deepEqual(supportedCanvases(4, 224), [[224, 896], [448, 448], [224, 224], [896, 224], [224, 672], [672, 224], [224, 448], [448, 224]]);
});

test("canvases for 16 tiles: every a x b grid with a * b <= 16, once", () => {
  const canvases = supportedCanvases(16, 336);
  assert.equal(canvases.length, 50); // sum of the divisor counts of 1..16
  assert.equal(new Set(canvases.map(([h, w]) => `${h}x${w}`)).size, 50);
  assert.ok(canvases.every(([h, w]) => (h / 336) * (w / 336) <= 16));
});

test("best fit: the docstring example picks the smaller of two canvases with the same upscale", () => {
  const canvases = [[224, 672], [672, 224], [224, 448], [448, 224], [224, 224]] as const;
  assert.deepEqual(bestFitCanvas(200, 300, canvases), [224, 448]);
});

test("get_max_res_without_distortion: the limiting side is kept, the other floored", () => {
  // The docstring's examples say 134 and 338, but its code floors: 200 * (200 / 300) = 133.3, 600 * (450 / 800) = 337.5.
  assert.deepEqual(maxResWithoutDistortion(200, 300, 450, 200), [133, 200]);
  assert.deepEqual(maxResWithoutDistortion(800, 600, 450, 1300), [450, 337]);
});

test("640x480: canvas 672x672 (2x2, scale 1.05), no resize", () => {
  const canvases = supportedCanvases(16, 336);
  const canvas = bestFitCanvas(480, 640, canvases);
  assert.deepEqual(canvas, [672, 672]);
  assert.deepEqual(resizeTarget(480, 640, canvas, 336), [480, 640]);
});

test("extreme aspect ratios: 2000x50 and 50x2000 get one row (or column) of tiles", () => {
  const canvases = supportedCanvases(16, 336);
  // Smallest upscale that fits 2000 wide is 6 tiles (2016 px, scale 1.008); the 1x6 canvas has the least area.
  assert.deepEqual(bestFitCanvas(50, 2000, canvases), [336, 2016]);
  assert.deepEqual(resizeTarget(50, 2000, [336, 2016], 336), [50, 2000]);
  assert.deepEqual(bestFitCanvas(2000, 50, canvases), [2016, 336]);
  assert.deepEqual(resizeTarget(2000, 50, [2016, 336], 336), [2000, 50]);
  // With at most 4 tiles no canvas fits: the mildest downscale is 1x4 (1344 / 2000 = 0.672), height floor(50 * 0.672).
  const four = supportedCanvases(4, 336);
  assert.deepEqual(bestFitCanvas(50, 2000, four), [336, 1344]);
  assert.deepEqual(resizeTarget(50, 2000, [336, 1344], 336), [33, 1344]);
});

test("a tiny 10x10 image goes on one tile, upscaled to 336x336", () => {
  const canvases = supportedCanvases(16, 336);
  assert.deepEqual(bestFitCanvas(10, 10, canvases), [336, 336]);
  assert.deepEqual(resizeTarget(10, 10, [336, 336], 336), [336, 336]);
  // Only the sides under the tile size are allowed to grow, and only up to the tile size.
  assert.deepEqual(resizeTarget(10, 500, bestFitCanvas(10, 500, canvases), 336), [10, 500]);
});
