/**
 * The cuda backend's FP8 products at decode (native/cuda/kernels/fp8_quantize.cu, fp8_linear.cu, fp8_gemv.cu), the
 * addon calls of `Backend.quantizeFp8` and `Backend.linearFp8` and the choice `Backend.fp8QuantizeInProduct` (kept out
 * of cuda-backend.ts, whose line budget is spent).
 */
import type { Fp8Weight } from "../fp8-weight.js";
import type { Tensor } from "../tensor.js";
import { DTYPE_CODE, type CudaAddon } from "./addon.js";
import { devicePtr as ptr, optionalPtr } from "./storage.js";

export function quantizeFp8(addon: CudaAddon, q: Tensor, scale: Tensor, x: Tensor, transpose: boolean): void {
  const R = q.shape[q.rank - 2], C = q.shape[q.rank - 1];
  addon.quantizeFp8(DTYPE_CODE[x.dtype], ptr(q), ptr(scale), ptr(x), R * C === 0 ? 0 : q.numel / (R * C), R, C, transpose ? 1 : 0);
}

/**
 * At most 8 tokens: the weight-streaming kernel (with a null xScale, at most 4, a float x quantized inside); more:
 * cuBLASLt's FP8 product and a scaling pass.
 */
export function linearFp8(addon: CudaAddon, out: Tensor, x: Tensor, xScale: Tensor | null, weight: Fp8Weight, bias: Tensor | null): void {
  addon.linearFp8(DTYPE_CODE[out.dtype], ptr(out), ptr(x), optionalPtr(xScale), ptr(weight.data), ptr(weight.scale), optionalPtr(bias),
    x.shape[0], x.shape[1], weight.data.shape[0]);
}
