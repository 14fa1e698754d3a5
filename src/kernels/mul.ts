import type { Tensor } from "../runtime/tensor.js";
import { binaryOutput } from "./binary.js";

/** a * b elementwise, with b of a's shape or of a trailing part of it broadcast over the rest. */
export function mul(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const result = binaryOutput("mul", a, b, out);
  a.device.backend.mul(result, a, b);
  return result;
}
