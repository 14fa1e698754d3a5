/**
 * How the Llama 4 image processor chooses the tile grid of an image and the size it resizes the image to.
 * The arithmetic follows transformers' `Llama4ImageProcessorFast`, including where it is float32 (torch tensors) and
 * where float64 (Python floats), since the tie-breaking between canvases depends on it.
 */

/** A canvas: the tile grid in pixels, `[height, width]`. */
export type Canvas = readonly [number, number];

/**
 * Every tile grid a x b with a * b <= maxTiles, in the reference's order: for chunk counts from maxTiles down to 1,
 * each factor pair (f, chunk / f) with f ascending, grouped by the ratio f / (chunk / f) in first-seen order.
 * The order only matters for ties in `bestFitCanvas`.
 */
export function supportedCanvases(maxTiles: number, tileSize: number): Canvas[] {
  const byRatio = new Map<number, [number, number][]>();
  for (let chunks = maxTiles; chunks >= 1; chunks--) {
    for (let f = 1; f <= chunks; f++) {
      if (chunks % f !== 0) continue;
      const pair: [number, number] = [f, chunks / f];
      const ratio = pair[0] / pair[1];
      const group = byRatio.get(ratio);
      if (group) group.push(pair);
      else byRatio.set(ratio, [pair]);
    }
  }
  return [...byRatio.values()].flat().map(([h, w]) => [h * tileSize, w * tileSize] as const);
}

/**
 * The canvas an image of `height` x `width` goes on: the smallest upscale that fits (or, with `resizeToMaxCanvas`,
 * the largest), else the mildest downscale; among canvases with that scale the smallest area, first in list order.
 * Scales are float32, as torch computes `canvas / size` on an int64 tensor.
 */
export function bestFitCanvas(height: number, width: number, canvases: readonly Canvas[], resizeToMaxCanvas = false): Canvas {
  const f = Math.fround;
  const scales = canvases.map(([ch, cw]) => Math.min(f(ch / height), f(cw / width)));
  const up = scales.filter((s) => s >= 1);
  const selected = up.length > 0
    ? (resizeToMaxCanvas ? Math.max(...up) : Math.min(...up))
    : Math.max(...scales.filter((s) => s < 1));
  let best = -1;
  for (let i = 0; i < canvases.length; i++) {
    if (scales[i] !== selected) continue;
    if (best < 0 || canvases[i][0] * canvases[i][1] < canvases[best][0] * canvases[best][1]) best = i;
  }
  return canvases[best];
}

/**
 * `get_max_res_without_distortion`: the largest `[height, width]` within `[targetH, targetW]` with the image's
 * aspect ratio, the side that limits taken whole and the other rounded down. `float32` marks target sides that are
 * float32 tensors in the reference (see `resizeTarget`); plain sides compute in float64.
 */
export function maxResWithoutDistortion(
  height: number, width: number, targetH: number, targetW: number, float32: { h: boolean; w: boolean } = { h: false, w: false },
): [number, number] {
  const f = Math.fround;
  const scaleW = float32.w ? f(targetW / width) : targetW / width;
  const scaleH = float32.h ? f(targetH / height) : targetH / height;
  // A comparison or product with a float32 tensor is float32 (the Python float is converted to float32 first).
  const compareIn32 = float32.w || float32.h;
  if (compareIn32 ? f(scaleW) < f(scaleH) : scaleW < scaleH) {
    return [Math.min(Math.floor(float32.w ? f(height * scaleW) : height * scaleW), targetH), targetW];
  }
  return [targetH, Math.min(Math.floor(float32.h ? f(width * scaleH) : width * scaleH), targetW)];
}

/**
 * The size `[height, width]` the image is resized to before padding to the canvas: upscaling is limited to
 * max(side, tileSize) per side (unless `resizeToMaxCanvas`), then the aspect ratio is kept; each side at least 1.
 *
 * NOTE: in the reference, `min(max(H, tile), canvas_h)` returns the int64 tensor element when the canvas side is the
 * smaller, so the scale computed from it is float32, and comparisons or products involving it are float32 too.
 */
export function resizeTarget(height: number, width: number, canvas: Canvas, tileSize: number, resizeToMaxCanvas = false): [number, number] {
  const [canvasH, canvasW] = canvas;
  const limitH = resizeToMaxCanvas ? canvasH : Math.max(height, tileSize);
  const limitW = resizeToMaxCanvas ? canvasW : Math.max(width, tileSize);
  const float32 = { h: resizeToMaxCanvas || canvasH < limitH, w: resizeToMaxCanvas || canvasW < limitW };
  const [h, w] = maxResWithoutDistortion(height, width, Math.min(limitH, canvasH), Math.min(limitW, canvasW), float32);
  return [Math.max(h, 1), Math.max(w, 1)];
}

/** Tiles an image of `[rows, columns]` tiles sends to the vision model: its tiles, plus the global one when several. */
export function tilesOf([rows, cols]: readonly number[]): number {
  return rows * cols + (rows * cols > 1 ? 1 : 0);
}
