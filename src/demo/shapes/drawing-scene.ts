/**
 * Draws a random scene of the second generator from a seed: a canvas size, a background, 1 to 3 shapes at clearly
 * different horizontal positions, and a rasterizer. What varies and how much is a `DrawingProfile`: the training
 * profile (training and held-out seeds alike), and others for pictures kept out of training (foreign-drawing.ts).
 * Same seed and profile, same scene, on every machine (prng.ts).
 */
import { darker, pickShade } from "./palette.js";
import { Prng, streamSeed } from "./prng.js";
import { STREAM } from "./scene.js";
import { COLOR_NAMES, SHAPE_KINDS, type Rgb } from "./scene-types.js";
import type { DrawingBackground, DrawingBlotch, DrawingScene, DrawingShape, Rasterizer } from "./drawing-types.js";

export interface DrawingProfile {
  /** Canvas size for a scene: [width, height]. */
  readonly canvas: (rng: Prng) => readonly [number, number];
  readonly background: (rng: Prng, width: number, height: number) => DrawingBackground;
  readonly rasterizer: (rng: Prng) => Rasterizer;
  /** Share of shapes drawn with an outline (SVG rasterizers only). */
  readonly strokeShare: number;
}

/** Smallest horizontal distance between two shape centres, as a share of the canvas width. */
export const MIN_CENTER_GAP = 0.16;
/** Half extent of a shape, as a share of the canvas's shorter side. */
export const HALF_EXTENT_RANGE = [0.07, 0.21] as const;
const MIN_BOX_GAP = 0.04;
const EDGE_MARGIN = 0.03;
const PLACEMENT_TRIES = 64;

const uniform = (rng: Prng, lo: number, hi: number) => lo + (hi - lo) * rng.nextFloat();
/** Log-uniform: as many small values (by ratio) as large ones. */
const logUniform = (rng: Prng, lo: number, hi: number) => lo * Math.pow(hi / lo, rng.nextFloat());

/**
 * Canvases users draw on: squares of common sizes, landscape and portrait rectangles up to 3.2:1 (most below
 * 2:1), from 56 pixels (the processor scales these up) to 448 on the long side.
 */
function trainingCanvas(rng: Prng): readonly [number, number] {
  const r = rng.nextFloat();
  if (r < 0.1) return [112, 112];
  if (r < 0.25) {
    const side = rng.pick([64, 100, 128, 150, 200, 224, 256, 300, 320, 400, 448]);
    return [side, side];
  }
  if (r < 0.3) {
    const side = rng.intBetween(56, 96);
    return [side, rng.intBetween(56, 96)];
  }
  const long = Math.round(logUniform(rng, 96, 448));
  const short = Math.max(56, Math.round(long / (rng.nextFloat() < 0.85 ? logUniform(rng, 1, 2) : logUniform(rng, 2, 3.2))));
  return rng.nextFloat() < 0.7 ? [long, short] : [short, long];
}

function lightColor(rng: Prng, lo: number): Rgb {
  return [rng.intBetween(lo, 255), rng.intBetween(lo, 255), rng.intBetween(lo, 255)];
}

function blotches(rng: Prng, width: number, height: number): DrawingBlotch[] {
  const side = Math.min(width, height);
  return Array.from({ length: rng.intBetween(0, 4) }, () => {
    const darken = rng.intBetween(8, 28);
    return {
      centerX: rng.intBetween(0, width - 1),
      centerY: rng.intBetween(0, height - 1),
      radius: Math.max(4, Math.round(side * uniform(rng, 0.12, 0.32))),
      delta: [-darken + rng.intBetween(-6, 6), -darken + rng.intBetween(-6, 6), -darken + rng.intBetween(-6, 6)],
    };
  });
}

const NO_LINES = { lineSpacing: 0, lineColor: [0, 0, 0] as Rgb, gradientTo: null };

/** White, plain light (any light tint) or noisy (the first generator's kind: grey base, stains, pixel noise). */
function trainingBackground(rng: Prng, width: number, height: number): DrawingBackground {
  const r = rng.nextFloat();
  if (r < 0.3) return { kind: "white", base: [255, 255, 255], noiseAmplitude: 0, blotches: [], ...NO_LINES };
  if (r < 0.6) return { kind: "plain", base: lightColor(rng, 215), noiseAmplitude: 0, blotches: [], ...NO_LINES };
  const grey = rng.intBetween(215, 250);
  const base: Rgb = [grey + rng.intBetween(-6, 5), grey + rng.intBetween(-6, 5), grey + rng.intBetween(-6, 5)];
  return { kind: "noisy", base, noiseAmplitude: rng.intBetween(2, 12), blotches: blotches(rng, width, height), ...NO_LINES };
}

function trainingRasterizer(rng: Prng): Rasterizer {
  const r = rng.nextFloat();
  return r < 0.3 ? "coverage" : r < 0.45 ? "aliased" : r < 0.85 ? "svg" : "svg-crisp";
}

export const TRAINING_PROFILE: DrawingProfile = {
  canvas: trainingCanvas,
  background: trainingBackground,
  rasterizer: trainingRasterizer,
  strokeShare: 0.15,
};

export function generateDrawing(seed: number, profile: DrawingProfile = TRAINING_PROFILE): DrawingScene {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`a scene seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const rng = new Prng(streamSeed(seed, STREAM.layout));
  const count = rng.intBetween(1, 3);
  const [width, height] = profile.canvas(rng);
  const background = profile.background(rng, width, height);
  const rasterizer = profile.rasterizer(rng);
  const strokes = rasterizer === "svg" || rasterizer === "svg-crisp" ? profile.strokeShare : 0;
  const shapes = placeShapes(rng, count, width, height, strokes);
  return { seed, width, height, shapes, background, rasterizer };
}

/** Rejection sampling, shrinking the size range after failed layouts (a tall narrow canvas fits less). */
function placeShapes(rng: Prng, count: number, width: number, height: number, strokeShare: number): DrawingShape[] {
  let largest: number = HALF_EXTENT_RANGE[1];
  for (;;) {
    const placed: DrawingShape[] = [];
    while (placed.length < count) {
      const shape = tryPlaceOne(rng, placed, width, height, largest, strokeShare);
      if (shape === undefined) break;
      placed.push(shape);
    }
    if (placed.length === count) return placed.sort((a, b) => a.centerX - b.centerX);
    largest = Math.max(HALF_EXTENT_RANGE[0], largest * 0.9);
  }
}

function tryPlaceOne(rng: Prng, placed: readonly DrawingShape[], width: number, height: number, largest: number,
  strokeShare: number): DrawingShape | undefined {
  const side = Math.min(width, height);
  const kind = rng.pick(SHAPE_KINDS);
  const color = rng.pick(COLOR_NAMES);
  const rgb = pickShade(rng, color);
  const halfExtent = side * uniform(rng, HALF_EXTENT_RANGE[0], largest);
  const widthRatio = kind === "square" ? uniform(rng, 0.78, 0.95) : kind === "triangle" ? uniform(rng, 0.8, 1.1) : 1;
  const shapeRatio = kind === "triangle" ? uniform(rng, 0.55, 1) : kind === "star" ? uniform(rng, 0.38, 0.55) : 1;
  const stroked = rng.nextFloat() < strokeShare;
  const strokeWidth = stroked ? Math.max(1, side * uniform(rng, 0.004, 0.015)) : 0;
  const strokeRgb: Rgb = rng.nextFloat() < 0.5 ? [rng.intBetween(0, 40), rng.intBetween(0, 40), rng.intBetween(0, 40)] : darker(rgb, 0.6);
  const margin = side * EDGE_MARGIN + halfExtent + strokeWidth;
  for (let t = 0; t < PLACEMENT_TRIES; t++) {
    const candidate: DrawingShape = {
      kind, color, rgb, halfExtent, widthRatio, shapeRatio, strokeWidth, strokeRgb,
      centerX: uniform(rng, margin, width - margin),
      centerY: uniform(rng, margin, height - margin),
    };
    if (margin * 2 < Math.min(width, height) && placed.every((other) => apart(candidate, other, width, side))) return candidate;
  }
  return undefined;
}

/** Clearly different horizontal positions, and bounding boxes apart along at least one axis. */
function apart(a: DrawingShape, b: DrawingShape, width: number, side: number): boolean {
  const dx = Math.abs(a.centerX - b.centerX);
  const dy = Math.abs(a.centerY - b.centerY);
  const reach = a.halfExtent + b.halfExtent + a.strokeWidth + b.strokeWidth + MIN_BOX_GAP * side;
  return dx >= MIN_CENTER_GAP * width && (dx >= reach || dy >= reach);
}
