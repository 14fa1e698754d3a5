import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectInPlaceOrDisjoint, expectSameFloat, output, sameDevice } from "./check.js";

/** Shared checks of add and mul: b has a's shape or a trailing part of it (broadcast over leading dims). */
export function binaryOutput(kernel: string, a: Tensor, b: Tensor, out: Tensor | undefined): Tensor {
  const device = sameDevice(kernel, { a, b, out });
  expectSameFloat(kernel, ["a", a], { b });
  const lead = a.rank - b.rank;
  const trailing = lead >= 0 && b.shape.every((d, i) => d === a.shape[lead + i]);
  expectCondition(kernel, trailing, `b [${b.shape.join(", ")}] must equal a trailing part of a's shape [${a.shape.join(", ")}]`);
  const result = output(kernel, device, out, a.shape, a.dtype);
  expectInPlaceOrDisjoint(kernel, result, { a, b });
  return result;
}
