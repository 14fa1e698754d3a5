/**
 * Image resizing bit-exact with `torchvision.transforms.v2.functional.resize(uint8 tensor, size, BILINEAR | BICUBIC,
 * antialias=True)` on the CPU, which is what the Hugging Face "fast" image processors run.
 *
 * Facts taken from PyTorch (aten/src/ATen/native/cpu/UpSampleKernel.cpp, UpSampleKernelAVXAntialias.h):
 * - the resize is separable: the horizontal pass (width) runs first, then the vertical one; a pass whose size does
 *   not change is skipped, and a resize to the same size is a copy (torchvision returns the input unchanged);
 * - the intermediate image of the two passes is uint8 (rounded and clamped), as in Pillow;
 * - per output index the filter (Keys cubic a = -0.5, or triangle) is widened by the scale when downscaling, its
 *   float64 weights are normalized to sum 1, then turned into int16 with a precision chosen per axis from the
 *   largest weight (so that 2 * max * 2^precision stays under 2^15, at most 22 bits);
 * - each output is `(2^(precision-1) + sum(pixel * weight)) >> precision`, clamped to 0..255.
 * The same integer arithmetic runs in the AVX2 and in the generic kernels, so their outputs agree.
 */
import { invariant } from "../core/errors.js";

export type ResampleFilter = "bilinear" | "bicubic";

/** An interleaved uint8 image (HWC) with any number of channels. */
export interface PixelBuffer {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

interface FilterSpec {
  /** Half the filter's width at scale 1 (PyTorch's `interp_size * 0.5`). */
  readonly support: number;
  readonly fn: (x: number) => number;
}

// Keys' cubic convolution with a = -0.5 (PyTorch uses it for bicubic when antialias is on, like Pillow).
const KEYS_A = -0.5;
function keysCubic(x: number): number {
  x = Math.abs(x);
  if (x < 1) return ((KEYS_A + 2) * x - (KEYS_A + 3)) * x * x + 1;
  if (x < 2) return ((KEYS_A * x - 5 * KEYS_A) * x + 8 * KEYS_A) * x - 4 * KEYS_A;
  return 0;
}

function triangle(x: number): number {
  x = Math.abs(x);
  return x < 1 ? 1 - x : 0;
}

const FILTERS: Readonly<Record<ResampleFilter, FilterSpec>> = {
  bilinear: { support: 1, fn: triangle },
  bicubic: { support: 2, fn: keysCubic },
};

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

/** The largest precision PyTorch allows for the int16 weights. */
const MAX_PRECISION = 22;

export function computeAxisWeights(inSize: number, outSize: number, filter: ResampleFilter): AxisWeights {
  const { support: baseSupport, fn } = FILTERS[filter];
  const scale = inSize / outSize;
  const support = scale >= 1 ? baseSupport * scale : baseSupport;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const taps = Math.ceil(support) * 2 + 1;

  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const real = new Float64Array(outSize * taps);
  let maxWeight = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    // NOTE: C++ casts to int64 truncate toward zero; Math.trunc keeps that for the negative values near the edge.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.max(Math.min(Math.trunc(center + support + 0.5), inSize) - xmin, 0), taps);
    const base = i * taps;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = fn((j + xmin - center + 0.5) * invScale);
      real[base + j] = w;
      total += w;
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) {
        real[base + j] /= total;
        if (real[base + j] > maxWeight) maxWeight = real[base + j];
      }
    }
    start[i] = xmin;
    count[i] = xsize;
  }

  let precision = 0;
  for (; precision < MAX_PRECISION; precision++) {
    if (Math.trunc(0.5 + maxWeight * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  const weights = new Int32Array(outSize * taps);
  const unit = 2 ** precision;
  for (let k = 0; k < real.length; k++) {
    const v = real[k] * unit;
    // Round half away from zero, as the C++ `(int)(v +- 0.5)` does.
    weights[k] = v < 0 ? Math.trunc(v - 0.5) : Math.trunc(v + 0.5);
  }
  return { outSize, taps, start, count, weights, precision };
}

function clampByte(acc: number, precision: number): number {
  const v = acc >> precision;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// NOTE: the loops below are written out for speed (a 1920x1080 image is about 50 million multiply-adds): RGB gets
// its own horizontal loop with three accumulators, and the vertical pass sums whole rows tap by tap.

/** Resamples along the width: each row independently. */
function resizeWidth(src: PixelBuffer, w: AxisWeights): PixelBuffer {
  const { height, channels } = src;
  const inRow = src.width * channels;
  const outWidth = w.outSize;
  const out = new Uint8Array(outWidth * height * channels);
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

/** Resamples along the height: each output row is a weighted sum of input rows. */
function resizeHeight(src: PixelBuffer, w: AxisWeights): PixelBuffer {
  const { width, channels } = src;
  const rowLen = width * channels;
  const outHeight = w.outSize;
  const out = new Uint8Array(outHeight * rowLen);
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
 * Resizes an interleaved uint8 image to `width` x `height` with antialiasing, exactly as torchvision does on uint8.
 * Returns the input itself when the size does not change.
 */
export function resizeUint8(src: PixelBuffer, width: number, height: number, filter: ResampleFilter): PixelBuffer {
  invariant(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0,
    `resize target must be positive integers, got ${width}x${height}`);
  invariant(src.data.length === src.width * src.height * src.channels, "pixel buffer length does not match its shape");
  let img = src;
  if (width !== img.width) img = resizeWidth(img, computeAxisWeights(img.width, width, filter));
  if (height !== img.height) img = resizeHeight(img, computeAxisWeights(img.height, height, filter));
  return img;
}
