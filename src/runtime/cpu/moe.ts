import type { Tensor } from "../tensor.js";
import { Scratch } from "./attention-core.js";
import { gemmNN } from "./gemm.js";
import { f32 } from "./storage.js";

const scratch = new Scratch();
const INPUTS = 0, GATE_UP = 1, ACTIVATED = 2, OUTPUTS = 3;

/**
 * Top-1 sigmoid-routed experts. Tokens are grouped by expert so each expert's weights are read once per call:
 * two matrix products per expert over the tokens routed to it.
 */
export function moeTop1Sigmoid(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Tensor, down: Tensor): void {
  const o = f32(out), xa = f32(x), logits = f32(routerLogits), wGateUp = f32(gateUp), wDown = f32(down);
  const T = x.shape[0], H = x.shape[1], E = routerLogits.shape[1], I = down.shape[1];

  const expertOf = new Int32Array(T), score = new Float64Array(T), count = new Int32Array(E);
  for (let t = 0; t < T; t++) {
    let best = 0;
    for (let e = 1; e < E; e++) if (logits[t * E + e] > logits[t * E + best]) best = e; // first max wins ties, as torch.topk
    expertOf[t] = best;
    score[t] = 1 / (1 + Math.exp(-logits[t * E + best]));
    count[best]++;
  }

  const tokens = new Int32Array(T);
  for (let e = 0; e < E; e++) {
    const n = count[e];
    if (n === 0) continue;
    let m = 0;
    for (let t = 0; t < T; t++) if (expertOf[t] === e) tokens[m++] = t;

    const inputs = scratch.get(INPUTS, n * H);
    for (let r = 0; r < n; r++) {
      const t = tokens[r], s = score[t];
      for (let j = 0; j < H; j++) inputs[r * H + j] = xa[t * H + j] * s; // the score scales the expert's input
    }
    const gu = scratch.get(GATE_UP, n * 2 * I);
    gemmNN(gu, inputs, wGateUp.subarray(e * H * 2 * I, (e + 1) * H * 2 * I), n, 2 * I, H);
    const act = scratch.get(ACTIVATED, n * I);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < I; j++) {
        const g = gu[r * 2 * I + j];
        act[r * I + j] = (g / (1 + Math.exp(-g))) * gu[r * 2 * I + I + j];
      }
    }
    const y = scratch.get(OUTPUTS, n * H);
    gemmNN(y, act, wDown.subarray(e * I * H, (e + 1) * I * H), n, H, I);
    for (let r = 0; r < n; r++) o.set(y.subarray(r * H, (r + 1) * H), tokens[r] * H);
  }
}
