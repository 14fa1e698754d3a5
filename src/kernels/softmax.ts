import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectInPlaceOrDisjoint, output, sameDevice } from "./check.js";

/** Softmax over the last dim (computed in fp32). `out` may be x. */
export function softmax(x: Tensor, out?: Tensor): Tensor {
  const kernel = "softmax";
  const device = sameDevice(kernel, { x, out });
  expectDType(kernel, "x", x, "float");
  expectCondition(kernel, x.rank >= 1, "x needs at least one dimension");
  const result = output(kernel, device, out, x.shape, x.dtype);
  expectInPlaceOrDisjoint(kernel, result, { x });
  device.backend.softmax(result, x);
  return result;
}
