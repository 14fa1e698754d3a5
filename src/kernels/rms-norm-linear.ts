import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";
import { linearSiluAndMul } from "./linear-silu-and-mul.js";
import { linear } from "./linear.js";
import { rmsNorm } from "./rms-norm.js";

/**
 * A layer's norm and the product after it: linear(rmsNorm(x, normWeight, eps), weight, bias) for x [T, K], weight
 * [N, K]; with `gated` (a SwiGLU MLP's gate|up, weight [2I, K]) silu(gate) * up of that product, [T, I]. One kernel
 * where the backend fuses them (cuda's skinny products at decode), else the kernels apart; the same values either way.
 */
export function rmsNormLinear(x: Tensor, normWeight: Tensor, eps: number, weight: Tensor, bias: Tensor | null, gated = false): Tensor {
  const kernel = "rmsNormLinear";
  const device = sameDevice(kernel, { x, normWeight, weight, bias });
  expectSameFloat(kernel, ["x", x], { normWeight, weight, bias });
  expectRank(kernel, "x", x, 2);
  expectShape(kernel, "normWeight", normWeight, [x.shape[1]]);
  expectShape(kernel, "weight", weight, ["N", x.shape[1]]);
  expectCondition(kernel, eps >= 0, `eps must be >= 0, got ${eps}`);
  if (gated) expectCondition(kernel, weight.shape[0] % 2 === 0, `a gated weight needs an even number of rows [2I, K], got [${weight.shape.join(", ")}]`);
  if (bias !== null) expectShape(kernel, "bias", bias, [weight.shape[0]]);
  const result = output(kernel, device, undefined, [x.shape[0], gated ? weight.shape[0] / 2 : weight.shape[0]], x.dtype);
  if (device.backend.rmsNormLinear?.(result, x, normWeight, eps, weight, bias, gated) === true) return result;
  const normed = rmsNorm(x, normWeight, eps);
  return gated ? linearSiluAndMul(normed, weight, bias, result) : linear(normed, weight, bias, result);
}

/**
 * Whether `rmsNormLinear` and `linearAddResidual` run fused on x's device for activations like x [T, hidden]: a
 * model's decode layers take the norm-into-product path only then (addRmsNorm serves every other step).
 */
export function normedProductsFuse(x: Tensor): boolean {
  return x.rank === 2 && x.device.backend.fusesNormedProducts?.(x.dtype, x.shape[0], x.shape[1]) === true;
}
