import type { TensorDType } from "../runtime/dtype.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, output, sameDevice } from "./check.js";

/**
 * x converted to the float dtype `dtype` (rounding to nearest even); x itself when it already has it. The sampler
 * widens a GPU's bf16 logits to F32 with it.
 */
export function cast(x: Tensor, dtype: TensorDType, out?: Tensor): Tensor {
  const kernel = "cast";
  const device = sameDevice(kernel, { x, out });
  expectDType(kernel, "x", x, "float");
  expectCondition(kernel, dtype !== "I32", "casts convert between float dtypes only");
  if (x.dtype === dtype && out === undefined) return x;
  const result = output(kernel, device, out, x.shape, dtype);
  expectNoOverlap(kernel, result, { x });
  device.backend.cast(result, x);
  return result;
}
