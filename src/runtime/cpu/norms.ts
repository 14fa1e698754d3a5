import type { Tensor } from "../tensor.js";
import { f32 } from "./storage.js";

export function rmsNorm(out: Tensor, x: Tensor, weight: Tensor | null, eps: number): void {
  const a = f32(x);
  const H = x.shape[x.rank - 1];
  rmsNormRows(f32(out), a, weight === null ? null : f32(weight), H === 0 ? 0 : a.length / H, H, eps);
}

/** rmsNorm over `rows` rows of H values from `start` of `a` into the same places of `o` (o may be a). */
export function rmsNormRows(o: Float32Array, a: Float32Array, w: Float32Array | null, rows: number, H: number, eps: number,
  start = 0): void {
  for (let r = 0; r < rows; r++) {
    const base = start + r * H;
    let ss = 0;
    for (let j = 0; j < H; j++) ss += a[base + j] * a[base + j];
    const inv = 1 / Math.sqrt(ss / H + eps);
    if (w === null) for (let j = 0; j < H; j++) o[base + j] = a[base + j] * inv;
    else for (let j = 0; j < H; j++) o[base + j] = a[base + j] * inv * w[j];
  }
}

export function layerNorm(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor, eps: number): void {
  const o = f32(out), a = f32(x), w = f32(weight), b = f32(bias);
  const H = x.shape[x.rank - 1];
  const rows = H === 0 ? 0 : a.length / H;
  for (let r = 0; r < rows; r++) {
    const base = r * H;
    let sum = 0;
    for (let j = 0; j < H; j++) sum += a[base + j];
    const mean = sum / H;
    // Two passes: the variance of (x - mean) avoids the cancellation of E[x²] - mean².
    let ss = 0;
    for (let j = 0; j < H; j++) {
      const d = a[base + j] - mean;
      ss += d * d;
    }
    const inv = 1 / Math.sqrt(ss / H + eps);
    for (let j = 0; j < H; j++) o[base + j] = (a[base + j] - mean) * inv * w[j] + b[j];
  }
}

export function softmax(out: Tensor, x: Tensor): void {
  const o = f32(out), a = f32(x);
  const H = x.shape[x.rank - 1];
  const rows = H === 0 ? 0 : a.length / H;
  for (let r = 0; r < rows; r++) softmaxRow(o, a, r * H, H);
}

/** o[base .. base+n) = softmax(a[base .. base+n)); a row of -Infinity only gives zeros (nothing to attend). */
export function softmaxRow(o: Float32Array, a: Float32Array, base: number, n: number): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (a[base + j] > max) max = a[base + j];
  if (max === -Infinity) {
    o.fill(0, base, base + n);
    return;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(a[base + j] - max);
    o[base + j] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let j = 0; j < n; j++) o[base + j] *= inv;
}
