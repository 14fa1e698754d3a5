/**
 * `smart_resize` of the Qwen2-VL image processor: the size an image is resized to, both sides multiples of
 * `factor` (patch size * merge size = 28), its area brought within [minPixels, maxPixels], the aspect ratio kept as
 * well as that allows. Computed in float64 with Python's round-half-to-even, as the reference does.
 */
import { IrisError } from "../core/errors.js";

const MAX_ASPECT_RATIO = 200;

/** Python 3's `round(x)` for x >= 0: ties go to the even integer (2.5 -> 2, 3.5 -> 4). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface SmartResizeOptions {
  readonly factor: number;
  readonly minPixels: number;
  readonly maxPixels: number;
}

/** Returns `[height, width]` for an image of `height` x `width` pixels. */
export function smartResize(height: number, width: number, { factor, minPixels, maxPixels }: SmartResizeOptions): [number, number] {
  if (height < factor || width < factor) {
    throw new IrisError("IMAGE_TOO_SMALL", `image of ${width}x${height} pixels is too small: both sides must be at least ${factor} pixels`);
  }
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > MAX_ASPECT_RATIO) {
    throw new IrisError("IMAGE_ASPECT_RATIO", `image of ${width}x${height} pixels has an aspect ratio of ${ratio.toFixed(1)}, above the limit of ${MAX_ASPECT_RATIO}`);
  }
  let hBar = roundHalfEven(height / factor) * factor;
  let wBar = roundHalfEven(width / factor) * factor;
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    // NOTE: two float64 divisions in this order, as the reference; max(factor, ...) keeps a thin side non-zero.
    hBar = Math.max(factor, Math.floor(height / beta / factor) * factor);
    wBar = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    hBar = Math.ceil((height * beta) / factor) * factor;
    wBar = Math.ceil((width * beta) / factor) * factor;
  }
  return [hBar, wBar];
}
