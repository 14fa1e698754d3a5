import type { Tensor } from "../runtime/tensor.js";
import { expectNoOverlap, expectRank, expectSameFloat, expectShape, sameDevice } from "./check.js";
import { addInPlace } from "./add.js";
import { linear } from "./linear.js";

/**
 * The residual connection of a layer's last product: residual [T, N] += linear(x, weight, bias) for x [T, K], weight
 * [N, K]. One kernel where the backend fuses them (cuda's skinny products at decode), else `linear` then the add;
 * the product rounded before the add either way.
 */
export function linearAddResidual(residual: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null = null): void {
  const kernel = "linearAddResidual";
  const device = sameDevice(kernel, { residual, x, weight, bias });
  expectSameFloat(kernel, ["x", x], { residual, weight, bias });
  expectRank(kernel, "x", x, 2);
  expectShape(kernel, "weight", weight, ["N", x.shape[1]]);
  expectShape(kernel, "residual", residual, [x.shape[0], weight.shape[0]]);
  if (bias !== null) expectShape(kernel, "bias", bias, [weight.shape[0]]);
  expectNoOverlap(kernel, residual, { x, weight, bias });
  if (device.backend.linearAddResidual?.(residual, x, weight, bias) === true) return;
  addInPlace(residual, linear(x, weight, bias));
}
