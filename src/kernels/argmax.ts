import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectRank, output, sameDevice } from "./check.js";

/** Greedy decoding: I32 [B] = index of the first maximum of each row of logits [B, V]. */
export function argmax(logits: Tensor, out?: Tensor): Tensor {
  const kernel = "argmax";
  const device = sameDevice(kernel, { logits, out });
  expectDType(kernel, "logits", logits, "float");
  expectRank(kernel, "logits", logits, 2);
  const result = output(kernel, device, out, [logits.shape[0]], "I32");
  device.backend.argmax(result, logits);
  return result;
}
