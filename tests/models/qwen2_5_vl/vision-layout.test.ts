import { test } from "node:test";
import assert from "node:assert/strict";
import { visionLayout } from "../../../src/models/qwen2-5-vl-vision-layout.js";
import { toNumbers } from "../../../src/core/host-tensor.js";
import { loadCaseTensors, loadTrace } from "../../helpers/fixtures.js";

test("window order and window segments equal the reference's for the one_image case", () => {
  const trace = loadTrace("tiny-qwen2_5-vl");
  const grid = toNumbers(loadCaseTensors("tiny-qwen2_5-vl", "one_image").image_grid_thw);
  const layout = visionLayout([{ t: grid[0], h: grid[1], w: grid[2] }], 2, 4);
  const windowIndex = toNumbers(trace["vision.window_index"]);
  const restoredTokens = Array.from({ length: windowIndex.length }, (_, i) => layout.windowPatchOrder[i * 4] / 4);
  assert.deepEqual(restoredTokens, windowIndex);
  // The reference removes repeated entries (empty padding windows) with unique_consecutive; so does the layout.
  assert.deepEqual(Array.from(layout.cuWindowSeqlens), toNumbers(trace["vision.cu_window_seqlens"]));
  assert.deepEqual(Array.from(layout.cuSeqlens), [0, grid[0] * grid[1] * grid[2]]);
  for (let i = 0; i < windowIndex.length; i++) assert.equal(windowIndex[layout.restoreOrder[i]], i);
});

test("a 448x448 image has 16 windows of 64 patches (model-facts worked example)", () => {
  const layout = visionLayout([{ t: 1, h: 32, w: 32 }], 2, 4);
  assert.deepEqual(Array.from(layout.cuWindowSeqlens), Array.from({ length: 17 }, (_, i) => i * 64));
  assert.equal(layout.maxWindowLen, 64);
});

test("several images: segments per image, positions per image grid", () => {
  const layout = visionLayout([{ t: 1, h: 4, w: 6 }, { t: 1, h: 2, w: 2 }], 2, 4);
  assert.deepEqual(Array.from(layout.cuSeqlens), [0, 24, 28]);
  assert.equal(layout.numPatches, 28);
  // The last window is the second image's single merged token: its four patches sit at (0,0),(0,1),(1,0),(1,1).
  assert.deepEqual(Array.from(layout.rotaryPositions.slice(-8)), [0, 0, 0, 1, 1, 0, 1, 1]);
});
