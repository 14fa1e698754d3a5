import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectRank, output, sameDevice } from "./check.js";

/** The gated MLP activation: out [T, I] = silu(x[:, :I]) * x[:, I:] for x [T, 2I] (gate first, then up). */
export function siluAndMul(x: Tensor, out?: Tensor): Tensor {
  const kernel = "siluAndMul";
  const device = sameDevice(kernel, { x, out });
  expectDType(kernel, "x", x, "float");
  expectRank(kernel, "x", x, 2);
  expectCondition(kernel, x.shape[1] % 2 === 0, `x must have an even number of columns [T, 2I], got [${x.shape.join(", ")}]`);
  const result = output(kernel, device, out, [x.shape[0], x.shape[1] / 2], x.dtype);
  expectNoOverlap(kernel, result, { x });
  device.backend.siluAndMul(result, x);
  return result;
}
