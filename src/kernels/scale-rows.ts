import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectInPlaceOrDisjoint, expectShape, output, sameDevice } from "./check.js";

/**
 * out[t, ...] = x[t, ...] * scale[t] for x [T, ...] and scale F32 [T]: a per-token factor (Llama 4's attention
 * temperature on q). Pass `out: x` to scale in place.
 */
export function scaleRows(x: Tensor, scale: Tensor, out?: Tensor): Tensor {
  const kernel = "scaleRows";
  const device = sameDevice(kernel, { x, scale, out });
  expectDType(kernel, "x", x, "float");
  expectCondition(kernel, x.rank >= 1, "x needs a leading token dimension");
  expectDType(kernel, "scale", scale, "F32");
  expectShape(kernel, "scale", scale, [x.shape[0]]);
  const result = output(kernel, device, out, x.shape, x.dtype);
  expectInPlaceOrDisjoint(kernel, result, { x, scale });
  device.backend.scaleRows(result, x, scale);
  return result;
}
