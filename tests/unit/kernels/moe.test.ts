import { test } from "node:test";
import assert from "node:assert/strict";
import { moeTop1Sigmoid } from "../../../src/kernels/moe.js";
import { assertClose, assertIrisError, f32Tensor, randomTensor, read, rng } from "./helpers.js";

/**
 * Hugging Face's formulation: every expert runs on every token, with the input scaled by that expert's router
 * score (sigmoid of the logit for the top-1 expert, 0 for the others), and the outputs are summed.
 */
function reference(x: Float32Array, logits: Float32Array, gateUp: Float32Array, down: Float32Array, T: number, H: number, E: number,
  I: number): Float64Array {
  const out = new Float64Array(T * H);
  for (let t = 0; t < T; t++) {
    const row = Array.from(logits.subarray(t * E, (t + 1) * E));
    const top = row.indexOf(Math.max(...row)); // the first maximum, as torch.topk returns on ties
    for (let e = 0; e < E; e++) {
      const score = e === top ? 1 / (1 + Math.exp(-row[e])) : 0;
      const h = new Float64Array(2 * I);
      for (let j = 0; j < 2 * I; j++) for (let k = 0; k < H; k++) h[j] += x[t * H + k] * score * gateUp[(e * H + k) * 2 * I + j];
      for (let o = 0; o < H; o++) {
        let acc = 0;
        for (let j = 0; j < I; j++) acc += (h[j] / (1 + Math.exp(-h[j]))) * h[I + j] * down[(e * I + j) * H + o];
        out[t * H + o] += acc;
      }
    }
  }
  return out;
}

test("moeTop1Sigmoid matches the all-experts formulation, one token and many", async () => {
  const random = rng(90);
  for (const [T, H, E, I] of [[1, 5, 3, 6], [7, 12, 4, 9], [23, 16, 16, 8]]) {
    const x = randomTensor([T, H], random), logits = randomTensor([T, E], random, 3);
    const gateUp = randomTensor([E, H, 2 * I], random), down = randomTensor([E, I, H], random);
    const out = moeTop1Sigmoid(x.t, logits.t, gateUp.t, down.t);
    assert.deepEqual(out.shape, [T, H]);
    assertClose(await read(out), reference(x.data, logits.data, gateUp.data, down.data, T, H, E, I), `moe ${T}x${H} E=${E} I=${I}`);
  }
});

test("moeTop1Sigmoid picks the first expert on tied logits", async () => {
  const random = rng(91);
  const T = 3, H = 4, E = 3, I = 2;
  const x = randomTensor([T, H], random), gateUp = randomTensor([E, H, 2 * I], random), down = randomTensor([E, I, H], random);
  const logits = new Float32Array([0.5, 2, 2, 1, 1, 1, -3, -1, -1]);
  const out = await read(moeTop1Sigmoid(x.t, f32Tensor(logits, [T, E]), gateUp.t, down.t));
  assertClose(out, reference(x.data, logits, gateUp.data, down.data, T, H, E, I), "ties");
  // Routing the tied rows to the later expert instead must give a different answer, or the check above is void.
  const later = new Float32Array([0.5, 2, 2.001, 1, 1, 1.001, -3, -1, -0.999]);
  const other = reference(x.data, later, gateUp.data, down.data, T, H, E, I);
  assert.ok(Math.abs(other[0] - out[0]) > 1e-3);
});

test("moeTop1Sigmoid refuses mismatched expert weights", () => {
  const random = rng(92);
  const x = randomTensor([2, 4], random).t, logits = randomTensor([2, 3], random).t;
  const gateUp = randomTensor([3, 4, 6], random).t, down = randomTensor([3, 3, 4], random).t;
  assertIrisError(() => moeTop1Sigmoid(x, logits, randomTensor([2, 4, 6], random).t, down), "INVALID_ARGUMENT", /gateUp must have shape \[3, 4, 2I\]/);
  assertIrisError(() => moeTop1Sigmoid(x, logits, gateUp, randomTensor([3, 4, 4], random).t), "INVALID_ARGUMENT", /down must have shape \[3, 3, 4\]/);
  assertIrisError(() => moeTop1Sigmoid(x, logits, randomTensor([3, 4, 5], random).t, down), "INVALID_ARGUMENT", /even/);
  assertIrisError(() => moeTop1Sigmoid(x, randomTensor([3, 3], random).t, gateUp, down), "INVALID_ARGUMENT", /routerLogits/);
});
