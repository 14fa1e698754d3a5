import { test } from "node:test";
import assert from "node:assert/strict";
import { EDGE_MARGIN, MIN_BOX_GAP, MIN_CENTER_X_GAP, generateScene } from "../../../src/demo/shapes/scene.js";
import { insideShape } from "../../../src/demo/shapes/shape-geometry.js";
import {
  CANVAS_SIZE,
  COLORS,
  COLOR_NAMES,
  SHAPE_KINDS,
  SIZES,
  SIZE_NAMES,
  type Scene,
} from "../../../src/demo/shapes/scene-types.js";
import {
  HELD_OUT_SEED_START,
  heldOutSeeds,
  isHeldOutSeed,
  splitOfRange,
  trainingSeeds,
} from "../../../src/demo/shapes/seeds.js";
import { Prng } from "../../../src/demo/shapes/prng.js";

const SCENES: Scene[] = Array.from({ length: 2000 }, (_, seed) => generateScene(seed));

test("the same seed gives the same scene", () => {
  for (const seed of [0, 1, 77, 123456, HELD_OUT_SEED_START + 5, 0xffffffff]) {
    assert.deepEqual(generateScene(seed), generateScene(seed));
  }
  assert.notDeepEqual(generateScene(1).shapes, generateScene(2).shapes);
});

test("shapes lie inside the canvas, apart from each other, with clearly different centres, left to right", () => {
  for (const scene of SCENES) {
    assert.ok(scene.shapes.length >= 1 && scene.shapes.length <= 3, `seed ${scene.seed}`);
    for (const s of scene.shapes) {
      // The box around the pixel centre (centerX + 0.5) with half side halfExtent.
      assert.ok(s.centerX + 0.5 - s.halfExtent >= EDGE_MARGIN, `seed ${scene.seed} left edge`);
      assert.ok(s.centerX + 0.5 + s.halfExtent <= CANVAS_SIZE - EDGE_MARGIN, `seed ${scene.seed} right edge`);
      assert.ok(s.centerY + 0.5 - s.halfExtent >= EDGE_MARGIN, `seed ${scene.seed} top edge`);
      assert.ok(s.centerY + 0.5 + s.halfExtent <= CANVAS_SIZE - EDGE_MARGIN, `seed ${scene.seed} bottom edge`);
      assert.equal(s.halfExtent, SIZES[s.size]);
    }
    for (let i = 0; i < scene.shapes.length; i++) {
      for (let j = i + 1; j < scene.shapes.length; j++) {
        const a = scene.shapes[i];
        const b = scene.shapes[j];
        assert.ok(b.centerX - a.centerX >= MIN_CENTER_X_GAP, `seed ${scene.seed}: not sorted or too close in x`);
        const reach = a.halfExtent + b.halfExtent + MIN_BOX_GAP;
        const apart = Math.abs(a.centerX - b.centerX) >= reach || Math.abs(a.centerY - b.centerY) >= reach;
        assert.ok(apart, `seed ${scene.seed}: boxes of shapes ${i} and ${j} overlap`);
      }
    }
  }
});

test("every shape fits in its box and contains its centre", () => {
  for (const kind of SHAPE_KINDS) {
    for (const h of Object.values(SIZES)) {
      assert.ok(insideShape(kind, h, 0, 0), `${kind} ${h} centre`);
      let inside = 0;
      for (let v = -h - 2; v <= h + 2; v += 0.25) {
        for (let u = -h - 2; u <= h + 2; u += 0.25) {
          if (!insideShape(kind, h, u, v)) continue;
          inside++;
          assert.ok(Math.abs(u) <= h && Math.abs(v) <= h, `${kind} ${h} reaches (${u}, ${v})`);
        }
      }
      // A real area, not a sliver: at least a fifth of the box.
      assert.ok(inside * 0.0625 > 0.2 * (2 * h) * (2 * h), `${kind} ${h} area`);
    }
  }
});

test("over 500 scenes every colour, kind, size, shape count and background style appears", () => {
  const seen = new Set<string>();
  for (const scene of SCENES.slice(0, 500)) {
    seen.add(`count:${scene.shapes.length}`);
    seen.add(`noisy:${scene.background.noiseAmplitude > 0}`);
    for (const s of scene.shapes) {
      seen.add(`kind:${s.kind}`);
      seen.add(`color:${s.color}`);
      seen.add(`size:${s.size}`);
    }
  }
  const expected = [
    ...SHAPE_KINDS.map((k) => `kind:${k}`),
    ...COLOR_NAMES.map((c) => `color:${c}`),
    ...SIZE_NAMES.map((s) => `size:${s}`),
    "count:1",
    "count:2",
    "count:3",
    "noisy:true",
    "noisy:false",
  ];
  for (const key of expected) assert.ok(seen.has(key), `${key} never appears`);
});

test("the colours are far apart: every pair differs by at least 75 in some channel", () => {
  for (const a of COLOR_NAMES) {
    for (const b of COLOR_NAMES) {
      if (a === b) continue;
      const gap = Math.max(...COLORS[a].map((v, c) => Math.abs(v - COLORS[b][c])));
      assert.ok(gap >= 75, `${a} and ${b} differ by at most ${gap}`);
    }
  }
});

test("training and held-out seeds are disjoint, and a data set range may not mix them", () => {
  const training = trainingSeeds(1000);
  const heldOut = heldOutSeeds(1000);
  assert.ok(training.every((s) => !isHeldOutSeed(s)));
  assert.ok(heldOut.every((s) => isHeldOutSeed(s)));
  const all = new Set([...training, ...heldOut]);
  assert.equal(all.size, 2000);
  assert.equal(splitOfRange(0, 50_000), "training");
  assert.equal(splitOfRange(HELD_OUT_SEED_START, 2000), "held-out");
  assert.throws(() => splitOfRange(HELD_OUT_SEED_START - 10, 20), /mix training and held-out/);
  assert.throws(() => trainingSeeds(10, HELD_OUT_SEED_START), /held-out seeds, not training/);
  assert.throws(() => splitOfRange(0xffffffff, 2), /inside \[0, 2\^32\)/);
  assert.throws(() => generateScene(-1), /\[0, 2\^32\)/);
  assert.throws(() => generateScene(1.5), /\[0, 2\^32\)/);
});

test("the generator's integers stay in range and cover it", () => {
  const rng = new Prng(42);
  const counts = new Array<number>(7).fill(0);
  for (let i = 0; i < 7000; i++) counts[rng.intBetween(-3, 3) + 3]++;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven: ${counts.join(",")}`);
  const a = new Prng(7);
  const b = new Prng(7);
  for (let i = 0; i < 100; i++) assert.equal(a.nextUint32(), b.nextUint32());
});
