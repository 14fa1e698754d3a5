/** Decode's fused products on cuda (native/cuda/kernels/gemv.cu): the Backend contract's fusesLinear and its two kernels. */
import type { TensorDType } from "../dtype.js";
import type { Tensor } from "../tensor.js";
import { DTYPE_CODE, type CudaAddon } from "./addon.js";
import { devicePtr as ptr, optionalPtr } from "./storage.js";

/** gemv.cu's kGemvFusedMaxBytes: the normalized rows of a fused product, held in a block's shared memory. */
const FUSED_LINEAR_MAX_BYTES = 32 * 1024;

/** bf16, one or two rows, the normalized copies within a block's shared memory. */
export function fusesLinear(T: number, K: number, dtype: TensorDType, withNorm: boolean): boolean {
  return dtype === "BF16" && T >= 1 && T <= 2 && K % 8 === 0 && (!withNorm || T * K * 2 <= FUSED_LINEAR_MAX_BYTES);
}

export function linearAfterRmsNorm(addon: CudaAddon, out: Tensor, x: Tensor, normWeight: Tensor, eps: number, weight: Tensor,
  bias: Tensor | null): void {
  addon.linearFused(DTYPE_CODE[x.dtype], ptr(out), ptr(x), ptr(weight), optionalPtr(bias), x.shape[0], x.shape[1], weight.shape[0],
    ptr(normWeight), eps, 0);
}

export function linearAccumulate(addon: CudaAddon, residual: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void {
  addon.linearFused(DTYPE_CODE[x.dtype], ptr(residual), ptr(x), ptr(weight), optionalPtr(bias), x.shape[0], x.shape[1],
    weight.shape[0], 0, 0, 1);
}
