import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectInPlaceOrDisjoint, output, sameDevice } from "./check.js";

/** GELU, exact erf form (torch `nn.GELU()`), elementwise. `out` may be x. */
export function gelu(x: Tensor, out?: Tensor): Tensor {
  const kernel = "gelu";
  const device = sameDevice(kernel, { x, out });
  expectDType(kernel, "x", x, "float");
  const result = output(kernel, device, out, x.shape, x.dtype);
  expectInPlaceOrDisjoint(kernel, result, { x });
  device.backend.gelu(result, x);
  return result;
}
