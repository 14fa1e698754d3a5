import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectInPlaceOrDisjoint, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

/**
 * RMS normalization of each row of the last dim: x * rsqrt(mean(x²) + eps) * weight, for x [..., H] and
 * weight [H], or weight null for the weightless form (Llama 4's QK norm over [T, heads, D]). `out` may be x.
 */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps: number, out?: Tensor): Tensor {
  const kernel = "rmsNorm";
  const device = sameDevice(kernel, { x, weight, out });
  expectSameFloat(kernel, ["x", x], { weight });
  expectCondition(kernel, x.rank >= 1, "x needs at least one dimension");
  expectCondition(kernel, eps >= 0, `eps must be >= 0, got ${eps}`);
  if (weight !== null) expectShape(kernel, "weight", weight, [x.shape[x.rank - 1]]);
  const result = output(kernel, device, out, x.shape, x.dtype);
  expectInPlaceOrDisjoint(kernel, result, { x, weight });
  device.backend.rmsNorm(result, x, weight, eps);
  return result;
}
