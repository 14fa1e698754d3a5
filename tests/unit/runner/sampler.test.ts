/**
 * The sampler takes logits of any float type: a GPU's BF16 logits, widened by the cast kernel, give the tokens F32
 * logits of the same values give, for greedy rows and for every truncation (top-k, top-p, min-p) and penalties. A
 * greedy step without masks whose logits nothing reads takes argmax on the BF16 logits without the cast: the same
 * tokens (ties, -inf and NaN rows included) as the cast path.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { f32ToBf16, roundToBf16 } from "../../../src/core/half.js";
import { resolveSamplingParams, type SamplingParams } from "../../../src/core/sampling-params.js";
import { RunnerRequest } from "../../../src/runner/runner-request.js";
import { Sampler, setGreedyArgmaxOnLogits } from "../../../src/runner/sampler.js";
import { countingBackend } from "../../../src/runtime/counting-backend.js";
import { downloadInt32, empty, fromHost } from "../../../src/runtime/creation.js";
import { cpuDevice, Device } from "../../../src/runtime/device.js";

const V = 64;
const ROWS: SamplingParams[] = [
  { temperature: 0 },
  { temperature: 0.7, topK: 8 },
  { temperature: 1.0, topP: 0.8 },
  { temperature: 1.3, minP: 0.05 },
  { temperature: 0.9, topK: 20, topP: 0.95, repetitionPenalty: 1.3, frequencyPenalty: 0.4, presencePenalty: 0.2 },
  { temperature: 0, minNewTokens: 3 },
];

function requests(seed: number): RunnerRequest[] {
  return ROWS.map((params, i) => {
    const history = [1, 5, 9, 5];
    return new RunnerRequest({
      id: `r${i}`, inputIds: Int32Array.from([1, 5]), history,
      sampling: resolveSamplingParams({ ...params, maxNewTokens: 8 }, V),
    }, -1, seed + i);
  });
}

test("BF16 logits widened by the cast sample the same tokens as F32 logits of the same values", async () => {
  const device = cpuDevice();
  for (let trial = 0; trial < 20; trial++) {
    let state = trial + 1;
    const values = Float32Array.from({ length: ROWS.length * V }, () => {
      state = (state * 1664525 + 1013904223) >>> 0;
      return roundToBf16((state / 2 ** 32 - 0.5) * 12);
    });
    // The minimum-length row's best token is the stop token 3, which it may not take yet.
    values[5 * V + 3] = 40;
    const sampled = [];
    for (const dtype of ["F32", "BF16"] as const) {
      const logits = dtype === "F32"
        ? fromHost(device, values, { shape: [ROWS.length, V], dtype: "F32" })
        : fromHost(device, hostTensor("BF16", [ROWS.length, V], Uint16Array.from(values, (v) => f32ToBf16(v))), { dtype: "BF16" });
      assert.equal(logits.dtype, dtype);
      const sampler = new Sampler(device, 8, V, [3]);
      const rows = requests(100 * trial);
      for (const r of rows) r.launchedTokens = 2;
      const out = empty(device, [ROWS.length], "I32");
      sampler.launch(logits, sampler.prepare(rows), out, false);
      sampled.push(Array.from(await downloadInt32(out)));
    }
    assert.deepEqual(sampled[1], sampled[0], `trial ${trial}`);
    assert.notEqual(sampled[0][5], 3, "the stop token is masked before minNewTokens");
  }
});

test("a greedy step whose logits nothing reads takes argmax on the BF16 logits, without the F32 cast", async () => {
  const { backend, counter } = countingBackend(cpuDevice().backend);
  const device = new Device("cpu", 0, backend);
  const B = 6;
  const values = new Float32Array(B * V).map((_, i) => roundToBf16(Math.sin(i * 12.9898) * 7));
  values.fill(9, 0 * V + 10, 0 * V + 13); // row 0: a three-way tie, the first wins
  values.fill(-Infinity, 1 * V, 2 * V); // row 1: all -inf: index 0
  values.fill(NaN, 2 * V, 3 * V); // row 2: all NaN: index 0
  values[3 * V] = NaN; // row 3: a leading NaN never wins
  values.fill(-Infinity, 4 * V, 5 * V);
  values[4 * V + 40] = NaN; // row 4: -inf and one NaN: index 0
  values[5 * V + V - 1] = Infinity; // row 5: +inf last
  const logits = fromHost(device, hostTensor("BF16", [B, V], Uint16Array.from(values, (v) => f32ToBf16(v))), { dtype: "BF16" });
  const greedy = () => Array.from({ length: B }, (_, i) => new RunnerRequest({
    id: `g${i}`, inputIds: Int32Array.from([1, 5]), history: [1, 5], sampling: resolveSamplingParams({ temperature: 0, maxNewTokens: 8 }, V),
  }, -1, i));
  const sampler = new Sampler(device, 8, V, []);
  const tokens = async (keepLogits: boolean) => {
    const out = empty(device, [B], "I32");
    counter.reset();
    const kept = sampler.launch(logits, sampler.prepare(greedy()), out, keepLogits);
    return { tokens: Array.from(await downloadInt32(out)), casts: counter.calls.get("cast") ?? 0, kept };
  };
  const direct = await tokens(false);
  assert.equal(direct.casts, 0, "no cast on the direct path");
  assert.equal(direct.kept, null);
  assert.deepEqual(direct.tokens.slice(0, 3), [10, 0, 0]);
  assert.equal(direct.tokens[3], values.subarray(3 * V + 1, 4 * V).reduce((best, v, j, row) => (v > row[best] ? j : best), 0) + 1);
  assert.deepEqual(direct.tokens.slice(4), [0, V - 1]);
  // The logprobs of sampled rows read the F32 logits: kept, cast once.
  const kept = await tokens(true);
  assert.deepEqual(kept.tokens, direct.tokens);
  assert.equal(kept.casts, 1);
  assert.equal(kept.kept?.dtype, "F32");
  // The path before, forced: the same tokens through the cast.
  setGreedyArgmaxOnLogits(false);
  try {
    const before = await tokens(false);
    assert.deepEqual(before.tokens, direct.tokens);
    assert.equal(before.casts, 1);
  } finally {
    setGreedyArgmaxOnLogits(true);
  }
});
