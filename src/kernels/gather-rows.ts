import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectNoOverlap, expectRank, output, sameDevice } from "./check.js";

/**
 * out [M, H] = x[index[m]] for x [N, H] (float or I32) and index I32 [M]: reorders rows (Qwen's window permutation and its
 * inverse, also of rotary positions; Llama 4's pixel shuffle; the last token of each sequence for the LM head).
 */
export function gatherRows(x: Tensor, index: Tensor, out?: Tensor): Tensor {
  const kernel = "gatherRows";
  const device = sameDevice(kernel, { x, index, out });
  expectRank(kernel, "x", x, 2);
  expectDType(kernel, "index", index, "I32");
  expectRank(kernel, "index", index, 1);
  const result = output(kernel, device, out, [index.shape[0], x.shape[1]], x.dtype);
  expectNoOverlap(kernel, result, { x });
  device.backend.gatherRows(result, x, index);
  return result;
}
