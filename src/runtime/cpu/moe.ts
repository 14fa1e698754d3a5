import type { Tensor } from "../tensor.js";
import { Scratch } from "./attention-core.js";
import { gemmNN } from "./gemm.js";
import { eachExpert, siluMulRows } from "./moe-routing.js";
import { f32 } from "./storage.js";

const scratch = new Scratch();
const INPUTS = 0, GATE_UP = 1, ACTIVATED = 2, OUTPUTS = 3;

/**
 * Top-1 sigmoid-routed experts. Tokens are grouped by expert so each expert's weights are read once per call:
 * two matrix products per expert over the tokens routed to it.
 */
export function moeTop1Sigmoid(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Tensor, down: Tensor): void {
  const wGateUp = f32(gateUp), wDown = f32(down);
  const T = x.shape[0], H = x.shape[1], E = routerLogits.shape[1], I = down.shape[1];
  eachExpert(f32(out), f32(x), f32(routerLogits), T, H, E, (length) => scratch.get(INPUTS, length), (e, inputs, n) => {
    const gu = scratch.get(GATE_UP, n * 2 * I);
    gemmNN(gu, inputs, wGateUp.subarray(e * H * 2 * I, (e + 1) * H * 2 * I), n, 2 * I, H);
    const act = scratch.get(ACTIVATED, n * I);
    siluMulRows(act, gu, n, I);
    const y = scratch.get(OUTPUTS, n * H);
    gemmNN(y, act, wDown.subarray(e * I * H, (e + 1) * I * H), n, H, I);
    return y;
  });
}
