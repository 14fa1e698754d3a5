/**
 * The integer passes of torchvision's antialiased resize of uint8 images, given fixed-point weights per axis (made
 * by `computeAxisWeights` in src/multimodal/resample.ts, which holds the filter math and the facts taken from
 * PyTorch). One code for the processors (`resizeUint8`) and the cpu backend's `resizeImage` op, which the cuda
 * kernels (native/cuda/kernels/resize_image.cu) equal byte for byte:
 * - the horizontal pass (width) runs first, then the vertical one; a pass is skipped when its axis has no weights
 *   (its size does not change), and with neither the picture is copied;
 * - the intermediate image between the passes is uint8 (rounded and clamped), as in Pillow;
 * - each output is `(2^(precision-1) + sum(pixel * weight)) >> precision`, clamped to 0..255 (every sum fits int32).
 */
import { invariant } from "./errors.js";

export type ResampleFilter = "bilinear" | "bicubic";

/** An interleaved uint8 image (HWC) with any number of channels. */
export interface PixelBuffer {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** Fixed-point weights of one axis: output index i reads `count[i]` inputs from `start[i]`. */
export interface AxisWeights {
  readonly outSize: number;
  /** Stride of `weights` per output index (the largest possible tap count). */
  readonly taps: number;
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
  readonly precision: number;
}

function clampByte(acc: number, precision: number): number {
  const v = acc >> precision;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// NOTE: the loops below are written out for speed (a 1920x1080 image is about 50 million multiply-adds): RGB gets
// its own horizontal loop with three accumulators, and the vertical pass sums whole rows tap by tap.

/** Resamples along the width: each row independently; into `out` (width w.outSize) when given. */
export function resizeWidth(src: PixelBuffer, w: AxisWeights, out?: Uint8Array): PixelBuffer {
  const { height, channels } = src;
  const inRow = src.width * channels;
  const outWidth = w.outSize;
  out ??= new Uint8Array(outWidth * height * channels);
  const { start, count, weights, taps, precision } = w;
  const half = 1 << (precision - 1);
  const data = src.data;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const rowIn = y * inRow;
    for (let x = 0; x < outWidth; x++) {
      const n = count[x];
      const wb = x * taps;
      let p = rowIn + start[x] * channels;
      if (channels === 3) {
        let r = half, g = half, b = half;
        for (let j = 0; j < n; j++, p += 3) {
          const weight = weights[wb + j];
          r += data[p] * weight;
          g += data[p + 1] * weight;
          b += data[p + 2] * weight;
        }
        out[o++] = clampByte(r, precision);
        out[o++] = clampByte(g, precision);
        out[o++] = clampByte(b, precision);
      } else {
        for (let c = 0; c < channels; c++) {
          let acc = half;
          for (let j = 0, q = p + c; j < n; j++, q += channels) acc += data[q] * weights[wb + j];
          out[o++] = clampByte(acc, precision);
        }
      }
    }
  }
  return { width: outWidth, height, channels, data: out };
}

/** Resamples along the height: each output row is a weighted sum of input rows; into `out` when given. */
export function resizeHeight(src: PixelBuffer, w: AxisWeights, out?: Uint8Array): PixelBuffer {
  const { width, channels } = src;
  const rowLen = width * channels;
  const outHeight = w.outSize;
  out ??= new Uint8Array(outHeight * rowLen);
  const { start, count, weights, taps, precision } = w;
  const half = 1 << (precision - 1);
  const data = src.data;
  const acc = new Int32Array(rowLen);
  for (let y = 0; y < outHeight; y++) {
    const n = count[y];
    const wb = y * taps;
    const first = start[y] * rowLen;
    const o = y * rowLen;
    if (n <= 4) {
      // Up to four taps (any upscale, mild downscales): one pass over the row, missing taps weigh 0.
      const w0 = weights[wb], w1 = n > 1 ? weights[wb + 1] : 0, w2 = n > 2 ? weights[wb + 2] : 0, w3 = n > 3 ? weights[wb + 3] : 0;
      const r1 = n > 1 ? first + rowLen : first, r2 = n > 2 ? first + 2 * rowLen : first, r3 = n > 3 ? first + 3 * rowLen : first;
      for (let k = 0; k < rowLen; k++) {
        const v = (half + data[first + k] * w0 + data[r1 + k] * w1 + data[r2 + k] * w2 + data[r3 + k] * w3) >> precision;
        out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      continue;
    }
    acc.fill(half);
    for (let j = 0; j < n; j++) {
      const weight = weights[wb + j];
      const rowIn = first + j * rowLen;
      for (let k = 0; k < rowLen; k++) acc[k] += data[rowIn + k] * weight;
    }
    for (let k = 0; k < rowLen; k++) out[o + k] = clampByte(acc[k], precision);
  }
  return { width, height: outHeight, channels, data: out };
}

/**
 * Both passes: `horizontal` (absent: the width stays) then `vertical` (absent: the height stays). The result goes
 * into `out` when given (then `scratch`, when given, holds the intermediate of two passes); with no pass, `out`
 * receives a copy, and without `out` the input itself is returned.
 */
export function resampleAxes(src: PixelBuffer, horizontal: AxisWeights | null, vertical: AxisWeights | null,
  out?: Uint8Array, scratch?: Uint8Array): PixelBuffer {
  if (horizontal === null && vertical === null) {
    if (out === undefined) return src;
    out.set(src.data.subarray(0, src.width * src.height * src.channels));
    return { ...src, data: out };
  }
  let img = src;
  if (horizontal !== null) img = resizeWidth(img, horizontal, vertical === null ? out : scratch);
  if (vertical !== null) img = resizeHeight(img, vertical, out);
  return img;
}

/**
 * One axis's weights as a single I32 array, the layout the `resizeImage` op reads (`Backend.resizeImage`): each
 * output index's first input, then each one's tap count, then `taps` weights per output index. Checks that every
 * output index reads inside an input of `inSize` (a kernel cannot).
 */
export function packAxisWeights(w: AxisWeights, inSize: number): Int32Array {
  const { outSize, taps } = w;
  invariant(w.start.length === outSize && w.count.length === outSize && w.weights.length === outSize * taps,
    "axis weights of inconsistent lengths");
  for (let i = 0; i < outSize; i++) {
    invariant(w.count[i] >= 0 && w.count[i] <= taps && w.start[i] >= 0 && w.start[i] + w.count[i] <= inSize,
      `axis weights: output ${i} reads outside the input of ${inSize}`);
  }
  const table = new Int32Array(outSize * (2 + taps));
  table.set(w.start, 0);
  table.set(w.count, outSize);
  table.set(w.weights, 2 * outSize);
  return table;
}

/** The weights a packed table holds (views of it, no copy): the inverse of `packAxisWeights`. */
export function unpackAxisWeights(table: Int32Array, outSize: number, taps: number, precision: number): AxisWeights {
  return {
    outSize, taps, precision,
    start: table.subarray(0, outSize),
    count: table.subarray(outSize, 2 * outSize),
    weights: table.subarray(2 * outSize, outSize * (2 + taps)),
  };
}
