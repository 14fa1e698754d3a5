import type { Tensor } from "../runtime/tensor.js";
import { binaryOutput } from "./binary.js";

/** a + b, with b of a's shape or of a trailing part of it (a bias, a position table) broadcast over the rest. */
export function add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const result = binaryOutput("add", a, b, out);
  a.device.backend.add(result, a, b);
  return result;
}

/** dst += src (the residual connection); src broadcasts as in `add`. Returns dst. */
export function addInPlace(dst: Tensor, src: Tensor): Tensor {
  return add(dst, src, dst);
}
