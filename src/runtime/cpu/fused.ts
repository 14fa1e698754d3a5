/**
 * The fused kernels of the contract on the cpu: each computes exactly what its unfused sequence computes (the
 * reference the cuda kernels are tested against), in one pass where that is free.
 */
import type { QkAfterRotary, RotaryStyle } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { TensorDType } from "../dtype.js";
import { add, siluAndMulRows } from "./elementwise.js";
import { linearRows } from "./matmul.js";
import { rmsNorm, rmsNormRows } from "./norms.js";
import { rotateHeads } from "./rotary.js";
import { checkIndex, f32, i32 } from "./storage.js";

export function addRmsNorm(out: Tensor, residual: Tensor, x: Tensor, weight: Tensor | null, eps: number): void {
  add(residual, residual, x);
  rmsNorm(out, residual, weight, eps);
}

/**
 * The cpu fuses the norm and the residual add into a layer's products where the cuda backend does (one or two rows),
 * so a model takes the same path on both; the fused kernels below are the separate ones in sequence, exactly.
 */
export function fusesNormedProducts(_dtype: TensorDType, rows: number): boolean {
  return rows >= 1 && rows <= 2;
}

export function rmsNormLinear(out: Tensor, x: Tensor, normWeight: Tensor, eps: number, weight: Tensor, bias: Tensor | null,
  gated: boolean): boolean {
  const [T, K] = x.shape, N = weight.shape[0];
  const normed = new Float32Array(T * K);
  rmsNormRows(normed, f32(x), f32(normWeight), T, K, eps);
  const product = gated ? new Float32Array(T * N) : f32(out);
  linearRows(product, normed, f32(weight), bias === null ? null : f32(bias), T, K, N);
  if (gated) siluAndMulRows(f32(out), product, T, N / 2);
  return true;
}

export function linearAddResidual(residual: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): boolean {
  const [T, K] = x.shape, N = weight.shape[0];
  const product = new Float32Array(T * N), r = f32(residual);
  linearRows(product, f32(x), f32(weight), bias === null ? null : f32(bias), T, K, N);
  for (let i = 0; i < product.length; i++) r[i] += product[i];  // as `add` stores it
  return true;
}

export function rotaryStoreKV(q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, slotMapping: Tensor,
  style: RotaryStyle, after: QkAfterRotary = {}): void {
  const src = f32(qkv), qa = f32(q), kc = f32(kCache), vc = f32(vCache), c = f32(cos), s = f32(sin), slots = i32(slotMapping);
  const [T, Hq, D] = q.shape;
  const Hk = kCache.shape[1], R = after.rotate === false ? 0 : cos.shape[1], numSlots = kCache.shape[0];
  const width = (Hq + 2 * Hk) * D, qSize = Hq * D, kvSize = Hk * D;
  const eps = after.qkNormEps, scales = after.queryScales === undefined ? null : f32(after.queryScales);
  // Each head as the separate kernels leave it: rotated, then normalized (QK norm).
  const rotateAndNorm = (a: Float32Array, start: number, heads: number, t: number) => {
    rotateHeads(a, start, heads, D, c, s, t * R, R, style);
    if (eps !== undefined) rmsNormRows(a, a, null, heads, D, eps, start);
  };
  for (let t = 0; t < T; t++) if (slots[t] >= 0) checkIndex("rotaryStoreKV", "slot", slots[t], numSlots);
  for (let t = 0; t < T; t++) {
    const row = t * width;
    qa.set(src.subarray(row, row + qSize), t * qSize);
    rotateAndNorm(qa, t * qSize, Hq, t);
    if (scales !== null) for (let j = t * qSize; j < (t + 1) * qSize; j++) qa[j] *= scales[t];
    const slot = slots[t];
    if (slot < 0) continue;
    kc.set(src.subarray(row + qSize, row + qSize + kvSize), slot * kvSize);
    rotateAndNorm(kc, slot * kvSize, Hk, t);
    vc.set(src.subarray(row + qSize + kvSize, row + width), slot * kvSize);
  }
}
