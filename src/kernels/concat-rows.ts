import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, output, sameDevice } from "./check.js";
import { copy } from "./copy.js";

/** Stacks tensors along the leading dim: parts [Ni, ...rest] -> [sum Ni, ...rest]. */
export function concatRows(parts: readonly Tensor[], out?: Tensor): Tensor {
  const kernel = "concatRows";
  expectCondition(kernel, parts.length > 0, "needs at least one tensor");
  const device = sameDevice(kernel, Object.fromEntries([...parts.map((t, i) => [`parts[${i}]`, t]), ["out", out]]));
  const first = parts[0];
  expectCondition(kernel, first.rank >= 1, "parts must have a leading dimension");
  const rest = first.shape.slice(1);
  let rows = 0;
  for (const [i, t] of parts.entries()) {
    const same = t.dtype === first.dtype && t.rank === first.rank && t.shape.slice(1).every((d, j) => d === rest[j]);
    expectCondition(kernel, same, `parts[${i}] is ${t.dtype} [${t.shape.join(", ")}], expected ${first.dtype} [N, ${rest.join(", ")}]`);
    rows += t.shape[0];
  }
  const result = output(kernel, device, out, [rows, ...rest], first.dtype);
  let at = 0;
  for (const t of parts) {
    copy(result.narrow(at, t.shape[0]), t);
    at += t.shape[0];
  }
  return result;
}
