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
 * The passes themselves live in src/core/resample-passes.ts, shared with the `resizeImage` op of the backends.
 */
import { invariant } from "../core/errors.js";
import { resampleAxes, type AxisWeights, type PixelBuffer, type ResampleFilter } from "../core/resample-passes.js";

export type { AxisWeights, PixelBuffer, ResampleFilter };

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

/**
 * Resizes an interleaved uint8 image to `width` x `height` with antialiasing, exactly as torchvision does on uint8.
 * Returns the input itself when the size does not change.
 */
export function resizeUint8(src: PixelBuffer, width: number, height: number, filter: ResampleFilter): PixelBuffer {
  invariant(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0,
    `resize target must be positive integers, got ${width}x${height}`);
  invariant(src.data.length === src.width * src.height * src.channels, "pixel buffer length does not match its shape");
  const { horizontal, vertical } = resizeWeights(src.width, src.height, width, height, filter);
  return resampleAxes(src, horizontal, vertical);
}

/** The weights of a resize from `srcWidth` x `srcHeight` to `width` x `height`: null for an axis whose size stays. */
export function resizeWeights(srcWidth: number, srcHeight: number, width: number, height: number, filter: ResampleFilter):
  { horizontal: AxisWeights | null; vertical: AxisWeights | null } {
  return {
    horizontal: width === srcWidth ? null : computeAxisWeights(srcWidth, width, filter),
    vertical: height === srcHeight ? null : computeAxisWeights(srcHeight, height, filter),
  };
}
