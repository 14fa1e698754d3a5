import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectInPlaceOrDisjoint, expectRank, output, sameDevice } from "./check.js";

/** Log-softmax over the last dim of F32 logits. `out` may be x. */
export function logSoftmax(x: Tensor, out?: Tensor): Tensor {
  const kernel = "logSoftmax";
  const device = sameDevice(kernel, { x, out });
  expectDType(kernel, "x", x, "F32");
  expectRank(kernel, "x", x, 2);
  const result = output(kernel, device, out, x.shape, "F32");
  expectInPlaceOrDisjoint(kernel, result, { x });
  device.backend.logSoftmax(result, x);
  return result;
}

/** F32 [R, G]: the entries of x F32 [R, V] at the column ids of index I32 [R, G], row by row. */
export function gatherColumns(x: Tensor, index: Tensor, out?: Tensor): Tensor {
  const kernel = "gatherColumns";
  const device = sameDevice(kernel, { x, index, out });
  expectDType(kernel, "x", x, "F32");
  expectDType(kernel, "index", index, "I32");
  expectRank(kernel, "x", x, 2);
  expectRank(kernel, "index", index, 2);
  expectCondition(kernel, index.shape[0] === x.shape[0], `index has ${index.shape[0]} rows for ${x.shape[0]} rows of x`);
  const result = output(kernel, device, out, [x.shape[0], index.shape[1]], "F32");
  device.backend.gatherColumns(result, x, index);
  return result;
}

/** The k largest entries of each row of x F32 [R, V], largest first (ties to the lower id): values F32 and ids I32 [R, k]. */
export function topK(x: Tensor, k: number, out?: { values: Tensor; ids: Tensor }): { values: Tensor; ids: Tensor } {
  const kernel = "topK";
  const device = sameDevice(kernel, { x, values: out?.values, ids: out?.ids });
  expectDType(kernel, "x", x, "F32");
  expectRank(kernel, "x", x, 2);
  expectCondition(kernel, Number.isInteger(k) && k >= 1 && k <= x.shape[1], `k must be in [1, ${x.shape[1]}], got ${k}`);
  const values = output(kernel, device, out?.values, [x.shape[0], k], "F32");
  const ids = output(kernel, device, out?.ids, [x.shape[0], k], "I32");
  device.backend.topK(values, ids, x);
  return { values, ids };
}
