import type { Fp8Weight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";
import { add } from "./add.js";
import { expectDType, expectNoOverlap, expectShape, output, sameDevice } from "./check.js";
import { linearFp8 } from "./linear-fp8.js";
import { checkFp8Experts, moeTop1SigmoidFp8 } from "./moe.js";
import { siluAndMul } from "./silu-and-mul.js";

/** Llama 4's shared SwiGLU expert in FP8: gate|up [2I, H] (gate rows first) and down [H, I], row scales, no bias. */
export interface Fp8SharedExpert {
  readonly gateUp: Fp8Weight;
  readonly down: Fp8Weight;
}

/**
 * Llama 4's FP8 feed-forward before the all-reduce: out = moeTop1SigmoidFp8(x, routerLogits, gateUp, down) + the
 * shared expert's down(silu(gate) * up) on the unscaled x, in one call where the backend folds the shared expert into
 * the routed experts' products (Backend.moeTop1SigmoidFp8Shared: cuda at decode sizes, route, gate|up, down), else
 * as the kernels one by one: the routed experts, the shared expert's two products and siluAndMul, the add. The same
 * values either way (each output rounded to the float type before the add).
 */
export function moeTop1SigmoidFp8WithShared(x: Tensor, routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight,
  shared: Fp8SharedExpert, out?: Tensor): Tensor {
  const kernel = "moeTop1SigmoidFp8WithShared";
  const { device, T, H, I } = checkFp8Experts(kernel, x, routerLogits, gateUp, down, out);
  sameDevice(kernel, { x, sharedGateUp: shared.gateUp.data, sharedGateUpScale: shared.gateUp.scale, sharedDown: shared.down.data, sharedDownScale: shared.down.scale });
  for (const [name, w, rows, columns] of [["sharedGateUp", shared.gateUp, 2 * I, H], ["sharedDown", shared.down, H, I]] as const) {
    expectDType(kernel, `${name}.data`, w.data, "F8_E4M3");
    expectShape(kernel, `${name}.data`, w.data, [rows, columns]);
    expectDType(kernel, `${name}.scale`, w.scale, "F32");
    expectShape(kernel, `${name}.scale`, w.scale, [rows]);
  }
  const result = output(kernel, device, out, [T, H], x.dtype);
  expectNoOverlap(kernel, result, { x, routerLogits });
  if (device.backend.moeTop1SigmoidFp8Shared?.(result, x, routerLogits, gateUp, down, shared.gateUp, shared.down) === true) return result;
  const routed = moeTop1SigmoidFp8(x, routerLogits, gateUp, down);
  return add(linearFp8(siluAndMul(linearFp8(x, shared.gateUp)), shared.down), routed, result);
}
