/**
 * Rasterizes a scene into an RGB picture (row-major, HWC, uint8): background and blotches, then the shapes with
 * light anti-aliasing (each pixel takes the shape's colour in proportion to how many of its 4x4 samples fall
 * inside), then per-pixel noise. Same scene, same bytes, on every machine.
 */
import { Prng, streamSeed } from "./prng.js";
import { STREAM } from "./scene.js";
import { shapeOutline, type ShapeOutline } from "./shape-geometry.js";
import { CANVAS_SIZE, CHANNELS, COLORS, type Scene, type SceneBackground, type SceneShape } from "./scene-types.js";

export interface RenderedImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes: row-major, then x, then R, G, B. */
  readonly data: Uint8Array;
}

/** Samples per axis inside a pixel for anti-aliasing. */
const SUPERSAMPLE = 4;
const SAMPLES_PER_PIXEL = SUPERSAMPLE * SUPERSAMPLE;

export function renderScene(scene: Scene): RenderedImage {
  const data = new Uint8Array(CANVAS_SIZE * CANVAS_SIZE * CHANNELS);
  renderSceneInto(scene, data, 0);
  return { width: CANVAS_SIZE, height: CANVAS_SIZE, data };
}

/**
 * The working canvas, reused: allocating 300 KB per picture cost more than drawing it. Rendering is synchronous,
 * so one buffer per thread is enough.
 */
const scratch = new Float64Array(CANVAS_SIZE * CANVAS_SIZE * CHANNELS);

/** Renders into `out` at byte `offset` (the dataset writer fills one big buffer). */
export function renderSceneInto(scene: Scene, out: Uint8Array, offset: number): void {
  const canvas = scratch;
  paintBackground(canvas, scene.background);
  for (const shape of scene.shapes) paintShape(canvas, shape);
  const noise = scene.background.noiseAmplitude;
  if (noise > 0) addNoise(canvas, noise, new Prng(streamSeed(scene.seed, STREAM.noise)));
  for (let i = 0; i < canvas.length; i++) out[offset + i] = Math.min(255, Math.max(0, Math.round(canvas[i])));
}

/**
 * Uniform integer noise in [-amplitude, amplitude] on every channel value. Each 32-bit draw gives four values
 * (one per byte, taken modulo the span): a quarter of the generator calls, and the slight unevenness of
 * 256 mod span is invisible.
 */
function addNoise(canvas: Float64Array, amplitude: number, rng: Prng): void {
  const span = 2 * amplitude + 1;
  if (span > 256) throw new RangeError(`noise amplitude ${amplitude} is over 127`);
  let bits = 0;
  for (let i = 0; i < canvas.length; i++) {
    if ((i & 3) === 0) bits = rng.nextUint32();
    canvas[i] += ((bits >>> ((i & 3) * 8)) & 0xff) % span - amplitude;
  }
}

function paintBackground(canvas: Float64Array, background: SceneBackground): void {
  const [r, g, b] = background.base;
  for (let p = 0; p < canvas.length; p += CHANNELS) {
    canvas[p] = r;
    canvas[p + 1] = g;
    canvas[p + 2] = b;
  }
  for (const blotch of background.blotches) {
    const radius = blotch.radius;
    const y0 = Math.max(0, blotch.centerY - radius);
    const y1 = Math.min(CANVAS_SIZE - 1, blotch.centerY + radius);
    const x0 = Math.max(0, blotch.centerX - radius);
    const x1 = Math.min(CANVAS_SIZE - 1, blotch.centerX + radius);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x - blotch.centerX;
        const dy = y - blotch.centerY;
        const d2 = (dx * dx + dy * dy) / (radius * radius);
        if (d2 >= 1) continue;
        // (1 - d^2)^2 falls smoothly to 0 at the rim: a soft stain, no visible edge.
        const weight = (1 - d2) * (1 - d2);
        const p = (y * CANVAS_SIZE + x) * CHANNELS;
        for (let c = 0; c < CHANNELS; c++) canvas[p + c] += blotch.delta[c] * weight;
      }
    }
  }
}

function paintShape(canvas: Float64Array, shape: SceneShape): void {
  const h = shape.halfExtent;
  const cx = shape.centerX + 0.5;
  const cy = shape.centerY + 0.5;
  const color = COLORS[shape.color];
  const outline = shapeOutline(shape.kind, h);
  // A pixel whose nearest point is beyond this distance from the centre is untouched (0.01: margin for rounding).
  const reach2 = (outline.outerRadius + 0.01) * (outline.outerRadius + 0.01);
  const x0 = Math.max(0, Math.floor(cx - h) - 1);
  const x1 = Math.min(CANVAS_SIZE - 1, Math.ceil(cx + h) + 1);
  const y0 = Math.max(0, Math.floor(cy - h) - 1);
  const y1 = Math.min(CANVAS_SIZE - 1, Math.ceil(cy + h) + 1);
  for (let y = y0; y <= y1; y++) {
    const v = y - cy;
    const nearV = Math.max(0, Math.abs(v + 0.5) - 0.5);
    for (let x = x0; x <= x1; x++) {
      const u = x - cx;
      const nearU = Math.max(0, Math.abs(u + 0.5) - 0.5);
      if (nearU * nearU + nearV * nearV > reach2) continue;
      const coverage = pixelCoverage(outline, u, v);
      if (coverage === 0) continue;
      const p = (y * CANVAS_SIZE + x) * CHANNELS;
      for (let c = 0; c < CHANNELS; c++) canvas[p + c] += (color[c] - canvas[p + c]) * coverage;
    }
  }
}

/** Share of the unit pixel whose top-left corner is (u, v) (relative to the shape centre) inside the shape. */
function pixelCoverage(outline: ShapeOutline, u: number, v: number): number {
  const core = outline.insideConvexCore;
  // Four corners in a convex part of the shape: the whole pixel is inside, no need to sample it.
  if (core(u, v) && core(u + 1, v) && core(u, v + 1) && core(u + 1, v + 1)) return 1;
  const inside = outline.inside;
  let hits = 0;
  for (let sy = 0; sy < SUPERSAMPLE; sy++) {
    const sv = v + (sy + 0.5) / SUPERSAMPLE;
    for (let sx = 0; sx < SUPERSAMPLE; sx++) {
      if (inside(u + (sx + 0.5) / SUPERSAMPLE, sv)) hits++;
    }
  }
  return hits / SAMPLES_PER_PIXEL;
}
