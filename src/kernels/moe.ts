import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectNoOverlap, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

/**
 * Llama 4's routed experts, top-1 with a sigmoid score: per token e = argmax(routerLogits[t]) (first on ties),
 * x_e = x[t] * sigmoid(logit_e), h = x_e · gateUp[e], out[t] = (silu(h[:I]) * h[I:]) · down[e].
 * x [T, H], routerLogits [T, E], gateUp [E, H, 2I] and down [E, I, H] (x·W layout, not nn.Linear's). The shared
 * expert is a separate gated MLP that the model adds.
 */
export function moeTop1Sigmoid(x: Tensor, routerLogits: Tensor, gateUp: Tensor, down: Tensor, out?: Tensor): Tensor {
  const kernel = "moeTop1Sigmoid";
  const device = sameDevice(kernel, { x, routerLogits, gateUp, down, out });
  expectSameFloat(kernel, ["x", x], { routerLogits, gateUp, down });
  expectRank(kernel, "x", x, 2);
  const [T, H] = x.shape;
  expectShape(kernel, "routerLogits", routerLogits, [T, "E"]);
  const E = routerLogits.shape[1];
  expectCondition(kernel, E > 0, "routerLogits needs at least one expert");
  expectShape(kernel, "gateUp", gateUp, [E, H, "2I"]);
  expectCondition(kernel, gateUp.shape[2] % 2 === 0, `gateUp's last dim must be even (gate | up), got ${gateUp.shape[2]}`);
  expectShape(kernel, "down", down, [E, gateUp.shape[2] / 2, H]);
  const result = output(kernel, device, out, [T, H], x.dtype);
  expectNoOverlap(kernel, result, { x, routerLogits });
  device.backend.moeTop1Sigmoid(result, x, routerLogits, gateUp, down);
  return result;
}
