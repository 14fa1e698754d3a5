import { loadNativeCpu } from "../native.js";
import type { Tensor } from "../tensor.js";
import { gemmNT } from "./gemm.js";
import { f32 } from "./storage.js";

const native = loadNativeCpu();

/** Which implementation `linear` runs: the native addon when it loaded (see native.ts), else TypeScript. */
export const linearImplementation: "native" | "typescript" = native === null ? "typescript" : "native";

export function linear(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void {
  // f32() gives views of exactly the tensors' elements (offsets applied), which the addon reads in place.
  linearRows(f32(out), f32(x), f32(weight), bias === null ? null : f32(bias), x.shape[0], x.shape[1], weight.shape[0]);
}

/** `linear` over plain arrays: y [T, N] = x [T, K] · w [N, K]ᵀ + bias (the fused kernels' intermediate rows). */
export function linearRows(y: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, T: number, K: number, N: number): void {
  if (native !== null) native.linear(y, x, w, bias, T, K, N);
  else linearArrays(y, x, w, bias, T, K, N);
}

/** c [M, N] = a [M, K] · b [N, K]ᵀ over plain arrays (the FP8 kernels' decoded operands), natively where it loaded. */
export function productNT(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
  if (native === null) gemmNT(c, a, b, M, N, K);
  else native.linear(c, a, b, null, M, K, N);
}

/** The TypeScript product: the fallback without the addon, and the reference the addon is tested against. */
export function linearTypeScript(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void {
  linearArrays(f32(out), f32(x), f32(weight), bias === null ? null : f32(bias), x.shape[0], x.shape[1], weight.shape[0]);
}

function linearArrays(y: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, T: number, K: number, N: number): void {
  gemmNT(y, x, w, T, N, K);
  if (b !== null) {
    for (let t = 0; t < T; t++) {
      const base = t * N;
      for (let j = 0; j < N; j++) y[base + j] += b[j];
    }
  }
}
