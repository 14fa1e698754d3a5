import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";
import { linear } from "./linear.js";
import { siluAndMul } from "./silu-and-mul.js";

/**
 * A SwiGLU MLP's first half: out [T, I] = silu(gate) * up for [gate | up] = x [T, K] · weightᵀ + bias, weight
 * [2I, K] with the gate rows first. One kernel where the backend fuses the two (cuda's skinny products at decode),
 * else `linear` then `siluAndMul`; the same values either way.
 */
export function linearSiluAndMul(x: Tensor, weight: Tensor, bias: Tensor | null = null, out?: Tensor): Tensor {
  const kernel = "linearSiluAndMul";
  const device = sameDevice(kernel, { x, weight, bias, out });
  expectSameFloat(kernel, ["x", x], { weight, bias });
  expectRank(kernel, "x", x, 2);
  expectShape(kernel, "weight", weight, ["2I", x.shape[1]]);
  expectCondition(kernel, weight.shape[0] % 2 === 0, `weight must have an even number of rows [2I, K], got [${weight.shape.join(", ")}]`);
  if (bias !== null) expectShape(kernel, "bias", bias, [weight.shape[0]]);
  const result = output(kernel, device, out, [x.shape[0], weight.shape[0] / 2], x.dtype);
  if (device.backend.linearSiluAndMul?.(result, x, weight, bias) === true) return result;
  return siluAndMul(linear(x, weight, bias), result);
}
