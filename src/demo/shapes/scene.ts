/**
 * Draws a random scene from a seed: 1 to 3 shapes at non-overlapping places with clearly different horizontal
 * positions (so "left" and "right" are never in doubt), on a plain or a noisy light background.
 * The same seed gives the same scene on every machine (see prng.ts).
 */
import { Prng, streamSeed } from "./prng.js";
import {
  CANVAS_SIZE,
  COLOR_NAMES,
  SHAPE_KINDS,
  SIZE_NAMES,
  SIZES,
  type Blotch,
  type Rgb,
  type Scene,
  type SceneBackground,
  type SceneShape,
} from "./scene-types.js";

export const MAX_SHAPES = 3;
/** Smallest horizontal distance between two shape centres: about a small shape's width, easy to see. */
export const MIN_CENTER_X_GAP = 20;
/** Smallest gap between two shapes' bounding boxes (along x or along y). */
export const MIN_BOX_GAP = 4;
/** Smallest distance between a bounding box and the canvas edge. */
export const EDGE_MARGIN = 3;
/** Share of scenes with a noisy (noise and blotches) background. */
export const NOISY_SHARE = 0.5;

/** Independent random streams drawn from one scene seed (prng.ts `streamSeed`). */
export const STREAM = { layout: 0, noise: 1, questions: 2 } as const;

const PLACEMENT_TRIES = 64;

export function generateScene(seed: number): Scene {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`a scene seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const rng = new Prng(streamSeed(seed, STREAM.layout));
  const count = rng.intBetween(1, MAX_SHAPES);
  const background = drawBackground(rng);
  const shapes = placeShapes(rng, count);
  return { seed, shapes, background };
}

function drawBackground(rng: Prng): SceneBackground {
  // A light, slightly tinted grey: every channel in [226, 250].
  const base: Rgb = [rng.intBetween(226, 250), rng.intBetween(226, 250), rng.intBetween(226, 250)];
  if (rng.nextFloat() >= NOISY_SHARE) return { base, noiseAmplitude: 0, blotches: [] };
  const blotches: Blotch[] = [];
  const blotchCount = rng.intBetween(1, 4);
  for (let i = 0; i < blotchCount; i++) {
    const darken = rng.intBetween(8, 28);
    blotches.push({
      centerX: rng.intBetween(0, CANVAS_SIZE - 1),
      centerY: rng.intBetween(0, CANVAS_SIZE - 1),
      radius: rng.intBetween(14, 36),
      delta: [-darken + rng.intBetween(-6, 6), -darken + rng.intBetween(-6, 6), -darken + rng.intBetween(-6, 6)],
    });
  }
  return { base, noiseAmplitude: rng.intBetween(4, 12), blotches };
}

/** Rejection sampling; a layout that cannot be completed is started over (three large shapes always fit). */
function placeShapes(rng: Prng, count: number): SceneShape[] {
  for (;;) {
    const placed: SceneShape[] = [];
    while (placed.length < count) {
      const shape = tryPlaceOne(rng, placed);
      if (shape === undefined) break;
      placed.push(shape);
    }
    if (placed.length === count) return placed.sort((a, b) => a.centerX - b.centerX);
  }
}

function tryPlaceOne(rng: Prng, placed: readonly SceneShape[]): SceneShape | undefined {
  const kind = rng.pick(SHAPE_KINDS);
  const color = rng.pick(COLOR_NAMES);
  const size = rng.pick(SIZE_NAMES);
  const halfExtent = SIZES[size];
  // The box [center - h, center + h] in continuous coordinates around the pixel centre center + 0.5.
  const lo = Math.ceil(EDGE_MARGIN + halfExtent - 0.5);
  const hi = Math.floor(CANVAS_SIZE - EDGE_MARGIN - halfExtent - 0.5);
  for (let t = 0; t < PLACEMENT_TRIES; t++) {
    const candidate: SceneShape = {
      kind,
      color,
      size,
      centerX: rng.intBetween(lo, hi),
      centerY: rng.intBetween(lo, hi),
      halfExtent,
    };
    if (placed.every((other) => compatible(candidate, other))) return candidate;
  }
  return undefined;
}

/** Clearly different horizontal positions, and bounding boxes apart along at least one axis. */
export function compatible(a: SceneShape, b: SceneShape): boolean {
  const dx = Math.abs(a.centerX - b.centerX);
  const dy = Math.abs(a.centerY - b.centerY);
  const reach = a.halfExtent + b.halfExtent + MIN_BOX_GAP;
  return dx >= MIN_CENTER_X_GAP && (dx >= reach || dy >= reach);
}
