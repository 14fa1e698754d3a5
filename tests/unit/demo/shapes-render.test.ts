import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { generateScene } from "../../../src/demo/shapes/scene.js";
import { renderScene } from "../../../src/demo/shapes/render.js";
import { CANVAS_SIZE, CHANNELS, COLORS } from "../../../src/demo/shapes/scene-types.js";
import { heldOutSeeds, trainingSeeds } from "../../../src/demo/shapes/seeds.js";

const SEEDS = [...trainingSeeds(100), ...heldOutSeeds(20)];

function hashOf(seeds: readonly number[]): string {
  const hash = createHash("sha256");
  for (const seed of seeds) hash.update(renderScene(generateScene(seed)).data);
  return hash.digest("hex");
}

/**
 * The bytes of these pictures, pinned: a change means data sets written before it differ from new ones, and
 * the demo model was trained on the old pictures. Bump GENERATOR_VERSION (dataset-format.ts) with this value.
 */
const PINNED_HASH = "c79f3342e249c2520f8142e2c86bebb70cc49272cff1a2f76787c1d22f6ccb7b";

test("the same seed gives the same bytes, run after run", () => {
  const first = hashOf(SEEDS);
  assert.equal(hashOf(SEEDS), first);
  assert.equal(first, PINNED_HASH);
});

test("a picture is 112x112 RGB", () => {
  const image = renderScene(generateScene(3));
  assert.equal(image.width, CANVAS_SIZE);
  assert.equal(image.height, CANVAS_SIZE);
  assert.equal(image.data.length, CANVAS_SIZE * CANVAS_SIZE * CHANNELS);
});

test("the pixel at a shape's centre has the shape's colour, up to the noise", () => {
  for (const seed of trainingSeeds(500)) {
    const scene = generateScene(seed);
    const { data } = renderScene(scene);
    for (const s of scene.shapes) {
      const p = (s.centerY * CANVAS_SIZE + s.centerX) * CHANNELS;
      const expected = COLORS[s.color];
      for (let c = 0; c < CHANNELS; c++) {
        const diff = Math.abs(data[p + c] - expected[c]);
        assert.ok(diff <= scene.background.noiseAmplitude, `seed ${seed} ${s.color} ${s.kind}: channel ${c} off by ${diff}`);
      }
    }
  }
});

test("the background stays light and each shape covers many pixels of its colour", () => {
  for (const seed of trainingSeeds(300)) {
    const scene = generateScene(seed);
    const { data } = renderScene(scene);
    // The four corners are never covered (shapes keep a margin) and must stay light despite noise and blotches.
    for (const [x, y] of [[0, 0], [CANVAS_SIZE - 1, 0], [0, CANVAS_SIZE - 1], [CANVAS_SIZE - 1, CANVAS_SIZE - 1]]) {
      const p = (y * CANVAS_SIZE + x) * CHANNELS;
      for (let c = 0; c < CHANNELS; c++) assert.ok(data[p + c] >= 170, `seed ${seed}: dark corner ${data[p + c]}`);
    }
    for (const s of scene.shapes) {
      const color = COLORS[s.color];
      let close = 0;
      for (let y = s.centerY - s.halfExtent; y <= s.centerY + s.halfExtent; y++) {
        for (let x = s.centerX - s.halfExtent; x <= s.centerX + s.halfExtent; x++) {
          const p = (y * CANVAS_SIZE + x) * CHANNELS;
          if ([0, 1, 2].every((c) => Math.abs(data[p + c] - color[c]) <= 14)) close++;
        }
      }
      // The smallest shape (a star of half side 9) still has dozens of solid pixels.
      assert.ok(close >= 40, `seed ${seed} ${s.size} ${s.kind}: only ${close} pixels of its colour`);
    }
  }
});
