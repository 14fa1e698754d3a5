import type { Backend } from "../runtime/backend.js";
import type { TensorDType } from "../runtime/dtype.js";
import type { Fp8Weight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectNoOverlap, expectRank, expectShape, output, sameDevice } from "./check.js";
import { quantizeFp8 } from "./quantize-fp8.js";

/**
 * Where the backend quantizes x itself (Backend.linearFp8 with a null xScale): decode's few tokens, whose FP8 copy
 * fits the cuda kernel's shared memory (fp8_gemv.cu), and K in whole 16-byte chunks.
 */
export const FUSED_FP8_QUANTIZE = { maxRows: 4, maxBytes: 32 * 1024, kMultiple: 16 } as const;

/**
 * Whether linearFp8 of x [T, K] on `backend` leaves the quantization to the backend's product: where the backend
 * chooses it (Backend.fp8QuantizeInProduct: on cuda a kernel choice, measured both ways by
 * bench/decode-layers-scout.ts; absent, as on the cpu: yes), within FUSED_FP8_QUANTIZE, for bf16 or F32 activations
 * (the dtypes the cuda kernel is built for).
 */
export function quantizesInProduct(backend: Pick<Backend, "fp8QuantizeInProduct">, T: number, K: number, dtype: TensorDType): boolean {
  return (backend.fp8QuantizeInProduct ?? true) && (dtype === "BF16" || dtype === "F32") && T <= FUSED_FP8_QUANTIZE.maxRows &&
    T * K <= FUSED_FP8_QUANTIZE.maxBytes && K % FUSED_FP8_QUANTIZE.kMultiple === 0;
}

/**
 * y [T, N] = x [T, K] · Wᵀ + bias with W in FP8 (data [N, K] times per-row scales [N]): x is quantized per token
 * (quantizeFp8), then Backend.linearFp8 multiplies the FP8 values and applies both scales after the sums. At decode
 * sizes, where the backend chooses it (quantizesInProduct), it does both in one call.
 */
export function linearFp8(x: Tensor, weight: Fp8Weight, bias: Tensor | null = null, out?: Tensor): Tensor {
  const kernel = "linearFp8";
  const device = sameDevice(kernel, { x, data: weight.data, scale: weight.scale, bias, out });
  expectDType(kernel, "x", x, "float");
  expectRank(kernel, "x", x, 2);
  expectDType(kernel, "weight.data", weight.data, "F8_E4M3");
  expectShape(kernel, "weight.data", weight.data, ["N", x.shape[1]]);
  const N = weight.data.shape[0];
  expectDType(kernel, "weight.scale", weight.scale, "F32");
  expectShape(kernel, "weight.scale", weight.scale, [N]);
  if (bias !== null) {
    expectDType(kernel, "bias", bias, x.dtype);
    expectShape(kernel, "bias", bias, [N]);
  }
  const result = output(kernel, device, out, [x.shape[0], N], x.dtype);
  expectNoOverlap(kernel, result, { x, bias });
  if (quantizesInProduct(device.backend, x.shape[0], x.shape[1], x.dtype)) {
    device.backend.linearFp8(result, x, null, weight, bias);
  } else {
    const { q, scale } = quantizeFp8(x);
    device.backend.linearFp8(result, q, scale, weight, bias);
  }
  return result;
}
