/**
 * A decoder's products with the step beside them folded in, for the decode step's one or two tokens: the norm
 * before a product (q|k|v, gate|up) and the residual add after one (o, down) cost no kernel of their own where the
 * backend fuses them (Backend.fusesLinear); elsewhere these run the separate kernels, with the same result.
 */
import type { Tensor } from "../runtime/tensor.js";
import { addInPlace } from "./add.js";
import { expectNoOverlap, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";
import { linear } from "./linear.js";
import { rmsNorm } from "./rms-norm.js";

/** Whether x [T, K] takes a fused product on its device, the norm inside or not (else: separate kernels). */
export function fusesLinear(x: Tensor, withNorm: boolean): boolean {
  return x.rank === 2 && x.device.backend.fusesLinear(x.shape[0], x.shape[1], x.dtype, withNorm);
}

function checkProduct(kernel: string, x: Tensor, weight: Tensor, bias: Tensor | null): number {
  expectSameFloat(kernel, ["x", x], { weight, bias });
  expectRank(kernel, "x", x, 2);
  expectShape(kernel, "weight", weight, ["N", x.shape[1]]);
  const N = weight.shape[0];
  if (bias !== null) expectShape(kernel, "bias", bias, [N]);
  return N;
}

/** rmsNorm(h, normWeight, eps) · weightᵀ + bias, for the residual stream h [T, K]: returns [T, N]. */
export function linearAfterRmsNorm(h: Tensor, normWeight: Tensor, eps: number, weight: Tensor, bias: Tensor | null = null): Tensor {
  const kernel = "linearAfterRmsNorm";
  const device = sameDevice(kernel, { h, normWeight, weight, bias });
  const N = checkProduct(kernel, h, weight, bias);
  expectSameFloat(kernel, ["h", h], { normWeight });
  expectShape(kernel, "normWeight", normWeight, [h.shape[1]]);
  if (!fusesLinear(h, true)) return linear(rmsNorm(h, normWeight, eps), weight, bias);
  const result = output(kernel, device, undefined, [h.shape[0], N], h.dtype);
  device.backend.linearAfterRmsNorm(result, h, normWeight, eps, weight, bias);
  return result;
}

/** In place: residual [T, N] += x [T, K] · weightᵀ + bias (the product rounded as `linear` stores it). */
export function linearAccumulate(residual: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null = null): void {
  const kernel = "linearAccumulate";
  const device = sameDevice(kernel, { residual, x, weight, bias });
  const N = checkProduct(kernel, x, weight, bias);
  expectSameFloat(kernel, ["x", x], { residual });
  expectShape(kernel, "residual", residual, [x.shape[0], N]);
  expectNoOverlap(kernel, residual, { x, weight, bias });
  if (!fusesLinear(x, false)) {
    addInPlace(residual, linear(x, weight, bias));
    return;
  }
  device.backend.linearAccumulate(residual, x, weight, bias);
}
