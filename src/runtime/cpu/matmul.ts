import { loadNativeCpu } from "../native.js";
import type { Tensor } from "../tensor.js";
import { gemmNT } from "./gemm.js";
import { f32 } from "./storage.js";

const native = loadNativeCpu();

/** Which implementation `linear` runs: the native addon when it loaded (see native.ts), else TypeScript. */
export const linearImplementation: "native" | "typescript" = native === null ? "typescript" : "native";

export function linear(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void {
  if (native === null) {
    linearTypeScript(out, x, weight, bias);
    return;
  }
  // f32() gives views of exactly the tensors' elements (offsets applied), which the addon reads in place.
  native.linear(f32(out), f32(x), f32(weight), bias === null ? null : f32(bias), x.shape[0], x.shape[1], weight.shape[0]);
}

/** c [M, N] = a [M, K] · b [N, K]ᵀ over plain arrays (the FP8 kernels' decoded operands), natively where it loaded. */
export function productNT(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
  if (native === null) gemmNT(c, a, b, M, N, K);
  else native.linear(c, a, b, null, M, K, N);
}

/** The TypeScript product: the fallback without the addon, and the reference the addon is tested against. */
export function linearTypeScript(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void {
  const T = x.shape[0], K = x.shape[1], N = weight.shape[0];
  const y = f32(out);
  gemmNT(y, f32(x), f32(weight), T, N, K);
  if (bias !== null) {
    const b = f32(bias);
    for (let t = 0; t < T; t++) {
      const base = t * N;
      for (let j = 0; j < N; j++) y[base + j] += b[j];
    }
  }
}
