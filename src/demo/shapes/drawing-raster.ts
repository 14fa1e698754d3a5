/**
 * Iris's own rasterizer for second-generator scenes, on a float canvas of any size: the background (base colour,
 * gradient, stains, ruled lines), then the shapes in one of three ways:
 * - "coverage": each edge pixel takes the shape's colour in proportion to its 4x4 samples inside (box filter);
 * - "aliased": a pixel is the shape's colour when its centre is inside, untouched otherwise (hard edges);
 * - "distance": coverage from the signed distance of the pixel centre to the outline, over a one-pixel ramp (how
 *   many canvas libraries approximate anti-aliasing); used only for pictures kept out of training.
 * Pixel noise comes last (addCanvasNoise), over shapes and background alike.
 */
import type { Prng } from "./prng.js";
import { outlineBounds, prepareOutline, shapeOutlineOf } from "./drawing-geometry.js";
import type { DrawingBackground, DrawingShape } from "./drawing-types.js";
import type { Rgb } from "./scene-types.js";

export type OwnRasterMode = "coverage" | "aliased" | "distance";

/** An RGB canvas in floats (0..255), row-major HWC. */
export interface FloatCanvas {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

const SUPERSAMPLE = 4;
/** Beyond this distance from the outline (half a pixel's diagonal, plus margin) a pixel is wholly in or out. */
const FULL_PIXEL_DISTANCE = 0.75;

export function paintBackground(width: number, height: number, bg: DrawingBackground): FloatCanvas {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const t = height > 1 ? y / (height - 1) : 0;
    const to = bg.gradientTo ?? bg.base;
    const r = bg.base[0] + (to[0] - bg.base[0]) * t, g = bg.base[1] + (to[1] - bg.base[1]) * t, b = bg.base[2] + (to[2] - bg.base[2]) * t;
    for (let x = 0, p = y * width * 3; x < width; x++, p += 3) {
      data[p] = r;
      data[p + 1] = g;
      data[p + 2] = b;
    }
  }
  for (const blotch of bg.blotches) {
    const { centerX, centerY, radius, delta } = blotch;
    for (let y = Math.max(0, centerY - radius); y <= Math.min(height - 1, centerY + radius); y++) {
      for (let x = Math.max(0, centerX - radius); x <= Math.min(width - 1, centerX + radius); x++) {
        const d2 = ((x - centerX) ** 2 + (y - centerY) ** 2) / (radius * radius);
        if (d2 >= 1) continue;
        // (1 - d^2)^2 falls smoothly to 0 at the rim: a soft stain, no visible edge.
        const weight = (1 - d2) * (1 - d2);
        const p = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) data[p + c] += delta[c] * weight;
      }
    }
  }
  if (bg.lineSpacing > 0) {
    // Squared paper: one-pixel lines every lineSpacing pixels, both ways.
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (x % bg.lineSpacing !== 0 && y % bg.lineSpacing !== 0) continue;
        const p = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) data[p + c] = bg.lineColor[c];
      }
    }
  }
  return { width, height, data };
}

function blend(canvas: FloatCanvas, x: number, y: number, rgb: Rgb, amount: number): void {
  const p = (y * canvas.width + x) * 3;
  const d = canvas.data;
  for (let c = 0; c < 3; c++) d[p + c] += (rgb[c] - d[p + c]) * amount;
}

export function paintShapeOwn(canvas: FloatCanvas, shape: DrawingShape, mode: OwnRasterMode): void {
  const outline = prepareOutline(shapeOutlineOf(shape));
  const [bx0, by0, bx1, by1] = outlineBounds(shapeOutlineOf(shape));
  const x0 = Math.max(0, Math.floor(bx0) - 1), x1 = Math.min(canvas.width - 1, Math.ceil(bx1) + 1);
  const y0 = Math.max(0, Math.floor(by0) - 1), y1 = Math.min(canvas.height - 1, Math.ceil(by1) + 1);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (mode === "aliased") {
        if (outline.inside(x + 0.5, y + 0.5)) blend(canvas, x, y, shape.rgb, 1);
        continue;
      }
      const d = outline.distance(x + 0.5, y + 0.5);
      if (mode === "distance") {
        const amount = Math.min(1, Math.max(0, 0.5 - d));
        if (amount > 0) blend(canvas, x, y, shape.rgb, amount);
        continue;
      }
      if (d <= -FULL_PIXEL_DISTANCE) blend(canvas, x, y, shape.rgb, 1);
      else if (d < FULL_PIXEL_DISTANCE) {
        let hits = 0;
        for (let sy = 0; sy < SUPERSAMPLE; sy++) {
          for (let sx = 0; sx < SUPERSAMPLE; sx++) {
            if (outline.inside(x + (sx + 0.5) / SUPERSAMPLE, y + (sy + 0.5) / SUPERSAMPLE)) hits++;
          }
        }
        if (hits > 0) blend(canvas, x, y, shape.rgb, hits / (SUPERSAMPLE * SUPERSAMPLE));
      }
    }
  }
}

/**
 * Uniform integer noise in [-amplitude, amplitude] on every channel value; each 32-bit draw gives four values
 * (one per byte, modulo the span).
 */
export function addCanvasNoise(canvas: FloatCanvas, amplitude: number, rng: Prng): void {
  if (amplitude <= 0) return;
  const span = 2 * amplitude + 1;
  const d = canvas.data;
  let bits = 0;
  for (let i = 0; i < d.length; i++) {
    if ((i & 3) === 0) bits = rng.nextUint32();
    d[i] += ((bits >>> ((i & 3) * 8)) & 0xff) % span - amplitude;
  }
}

export function canvasToBytes(canvas: FloatCanvas): Uint8Array {
  const out = new Uint8Array(canvas.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(canvas.data[i])));
  return out;
}
