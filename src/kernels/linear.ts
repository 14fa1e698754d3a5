import type { Tensor } from "../runtime/tensor.js";
import { expectNoOverlap, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

/** y [T, N] = x [T, K] · weightᵀ + bias, with weight [N, K] (nn.Linear layout) and an optional bias [N]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, out?: Tensor): Tensor {
  const kernel = "linear";
  const device = sameDevice(kernel, { x, weight, bias, out });
  expectSameFloat(kernel, ["x", x], { weight, bias });
  expectRank(kernel, "x", x, 2);
  expectShape(kernel, "weight", weight, ["N", x.shape[1]]);
  const N = weight.shape[0];
  if (bias !== null) expectShape(kernel, "bias", bias, [N]);
  const result = output(kernel, device, out, [x.shape[0], N], x.dtype);
  expectNoOverlap(kernel, result, { x, weight, bias });
  device.backend.linear(result, x, weight, bias);
  return result;
}
