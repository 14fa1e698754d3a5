/**
 * The cuda backend's `ProductFusions` (native/cuda/kernels/gemv.cu: the skinny products of a decode step with their
 * activation, norm or residual add), kept out of cuda-backend.ts, whose line budget is spent. Each asks the addon,
 * which declines (nothing enqueued) where its weight-streaming product would not serve the operands.
 */
import type { TensorDType } from "../dtype.js";
import type { Tensor } from "../tensor.js";
import { DTYPE_CODE, type CudaAddon } from "./addon.js";
import { devicePtr as ptr, optionalPtr } from "./storage.js";

export function linearSiluAndMul(addon: CudaAddon, out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): boolean {
  const [T, K] = x.shape, I = out.shape[1], dtype = DTYPE_CODE[x.dtype];
  if (addon.linearSiluAndMulFuses(dtype, ptr(out), ptr(x), ptr(weight), T, K, I) !== 1) return false;
  addon.linearSiluAndMul(dtype, ptr(out), ptr(x), ptr(weight), optionalPtr(bias), T, K, I);
  return true;
}

export function fusesNormedProducts(addon: CudaAddon, dtype: TensorDType, rows: number, hidden: number): boolean {
  return addon.skinnyFusions(DTYPE_CODE[dtype], rows, hidden) === 1;
}

export function rmsNormLinear(addon: CudaAddon, out: Tensor, x: Tensor, normWeight: Tensor, eps: number, weight: Tensor,
  bias: Tensor | null, gated: boolean): boolean {
  const [T, K] = x.shape;
  return addon.rmsNormLinear(DTYPE_CODE[x.dtype], ptr(out), ptr(x), ptr(normWeight), eps, ptr(weight), optionalPtr(bias), T, K,
    out.shape[1], gated ? 1 : 0) === 1;
}

export function linearAddResidual(addon: CudaAddon, residual: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): boolean {
  const [T, K] = x.shape;
  return addon.linearAddResidual(DTYPE_CODE[x.dtype], ptr(residual), ptr(x), ptr(weight), optionalPtr(bias), T, K, weight.shape[0]) === 1;
}
