import type { Tensor } from "../tensor.js";
import { gemmNT } from "./gemm.js";
import { f32 } from "./storage.js";

export function linear(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void {
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
