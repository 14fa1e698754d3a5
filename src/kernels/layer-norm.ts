import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectInPlaceOrDisjoint, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

/** LayerNorm over the last dim of x [..., H] with weight and bias [H] (biased variance, as torch). `out` may be x. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number, out?: Tensor): Tensor {
  const kernel = "layerNorm";
  const device = sameDevice(kernel, { x, weight, bias, out });
  expectSameFloat(kernel, ["x", x], { weight, bias });
  expectCondition(kernel, x.rank >= 1, "x needs at least one dimension");
  expectCondition(kernel, eps >= 0, `eps must be >= 0, got ${eps}`);
  const H = x.shape[x.rank - 1];
  expectShape(kernel, "weight", weight, [H]);
  expectShape(kernel, "bias", bias, [H]);
  const result = output(kernel, device, out, x.shape, x.dtype);
  expectInPlaceOrDisjoint(kernel, result, { x, weight, bias });
  device.backend.layerNorm(result, x, weight, bias, eps);
  return result;
}
