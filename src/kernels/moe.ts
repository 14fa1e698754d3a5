import type { Fp8Weight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

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

/**
 * moeTop1Sigmoid with FP8 experts (Backend.moeTop1SigmoidFp8): gateUp.data [E, 2I, H] and down.data [E, H, I] in
 * per-expert nn.Linear layout with F32 scales [E, 2I] and [E, H]; the expert inputs and activations are quantized
 * per token inside the kernel.
 */
export function moeTop1SigmoidFp8(x: Tensor, routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight, out?: Tensor): Tensor {
  const kernel = "moeTop1SigmoidFp8";
  const { device, T, H } = checkFp8Experts(kernel, x, routerLogits, gateUp, down, out);
  const result = output(kernel, device, out, [T, H], x.dtype);
  expectNoOverlap(kernel, result, { x, routerLogits });
  device.backend.moeTop1SigmoidFp8(result, x, routerLogits, gateUp, down);
  return result;
}

/** moeTop1SigmoidFp8's operand checks: the device and the sizes (T tokens, H hidden, E experts, I intermediate). */
export function checkFp8Experts(kernel: string, x: Tensor, routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight, out?: Tensor) {
  const device = sameDevice(kernel, { x, routerLogits, gateUp: gateUp.data, gateUpScale: gateUp.scale, down: down.data, downScale: down.scale, out });
  expectSameFloat(kernel, ["x", x], { routerLogits });
  expectRank(kernel, "x", x, 2);
  const [T, H] = x.shape;
  expectShape(kernel, "routerLogits", routerLogits, [T, "E"]);
  const E = routerLogits.shape[1];
  expectCondition(kernel, E > 0, "routerLogits needs at least one expert");
  expectDType(kernel, "gateUp.data", gateUp.data, "F8_E4M3");
  expectShape(kernel, "gateUp.data", gateUp.data, [E, "2I", H]);
  expectCondition(kernel, gateUp.data.shape[1] % 2 === 0, `gateUp's rows must be even (gate | up), got ${gateUp.data.shape[1]}`);
  const I = gateUp.data.shape[1] / 2;
  expectDType(kernel, "down.data", down.data, "F8_E4M3");
  expectShape(kernel, "down.data", down.data, [E, H, I]);
  for (const [name, scale, rows] of [["gateUp.scale", gateUp.scale, 2 * I], ["down.scale", down.scale, H]] as const) {
    expectDType(kernel, name, scale, "F32");
    expectShape(kernel, name, scale, [E, rows]);
  }
  return { device, T, H, E, I };
}
