/**
 * The cuda backend's FP8 products at decode (native/cuda/kernels/fp8_quantize.cu, fp8_linear.cu, fp8_gemv.cu), the
 * addon calls of `Backend.quantizeFp8`, `Backend.linearFp8` and `Backend.moeTop1SigmoidFp8Shared` and the choice
 * `Backend.fp8QuantizeInProduct` (kept out of cuda-backend.ts, whose line budget is spent).
 */
import type { Fp8Weight } from "../fp8-weight.js";
import type { Tensor } from "../tensor.js";
import { DTYPE_CODE, type CudaAddon } from "./addon.js";
import { devicePtr as ptr, optionalPtr, type CudaStorage } from "./storage.js";

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

/**
 * The routed experts with Llama 4's shared expert folded into their two products (native/cuda/kernels/fp8_moe.cu,
 * include/fp8_shared_expert.cuh) where the addon's rule takes these sizes (decode); false otherwise, nothing enqueued.
 * The scratch comes from the device (the step's arena while a step runs), as moeTop1SigmoidFp8's.
 */
export function moeTop1SigmoidFp8Shared(addon: CudaAddon, release: (s: CudaStorage) => void, out: Tensor, x: Tensor,
  routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight, sharedGateUp: Fp8Weight, sharedDown: Fp8Weight): boolean {
  const [T, H] = x.shape, E = routerLogits.shape[1], I = down.data.shape[2], dtype = DTYPE_CODE[x.dtype];
  if (T === 0 || addon.moeFp8SharedFold(dtype, T, H, E, I) !== 1) return false;
  const bytes = addon.moeFp8SharedScratchBytes(dtype, T, H, E, I);
  const scratch = x.device.allocate("I32", Math.ceil(bytes / 4)) as CudaStorage;
  try {
    addon.moeTop1SigmoidFp8Shared(dtype, ptr(out), ptr(x), ptr(routerLogits), ptr(gateUp.data), ptr(gateUp.scale), ptr(down.data),
      ptr(down.scale), ptr(sharedGateUp.data), ptr(sharedGateUp.scale), ptr(sharedDown.data), ptr(sharedDown.scale), T, H, E, I,
      scratch.ptr, bytes);
  } finally {
    // Outside an arena: back to the allocator at once (stream order keeps it until the kernels are done).
    if (scratch.lease === null) release(scratch);
  }
  return true;
}
