import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectNoOverlap, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

/**
 * The residual connection and the next RMSNorm in one kernel: residual += x (in place, as `addInPlace`), then
 * returns rmsNorm(residual) * weight, into `out` when given. residual and x [..., H]; weight [H] or null.
 */
export function addRmsNorm(residual: Tensor, x: Tensor, weight: Tensor | null, eps: number, out?: Tensor): Tensor {
  const kernel = "addRmsNorm";
  const device = sameDevice(kernel, { residual, x, weight, out });
  expectSameFloat(kernel, ["residual", residual], { x, weight });
  expectShape(kernel, "x", x, residual.shape);
  expectCondition(kernel, residual.rank >= 1, "residual needs at least one dimension");
  expectCondition(kernel, eps >= 0, `eps must be >= 0, got ${eps}`);
  if (weight !== null) expectShape(kernel, "weight", weight, [residual.shape[residual.rank - 1]]);
  const result = output(kernel, device, out, residual.shape, residual.dtype);
  expectNoOverlap(kernel, result, { residual, x });
  device.backend.addRmsNorm(result, residual, x, weight, eps);
  return result;
}
