/**
 * The sampler takes logits of any float type: a GPU's BF16 logits, widened by the cast kernel, give the tokens F32
 * logits of the same values give, for greedy rows and for every truncation (top-k, top-p, min-p) and penalties.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { f32ToBf16, roundToBf16 } from "../../../src/core/half.js";
import { resolveSamplingParams, type SamplingParams } from "../../../src/core/sampling-params.js";
import { RunnerRequest } from "../../../src/runner/runner-request.js";
import { Sampler } from "../../../src/runner/sampler.js";
import { downloadInt32, empty, fromHost } from "../../../src/runtime/creation.js";
import { cpuDevice } from "../../../src/runtime/device.js";

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
      sampler.launch(logits, sampler.prepare(rows), out);
      sampled.push(Array.from(await downloadInt32(out)));
    }
    assert.deepEqual(sampled[1], sampled[0], `trial ${trial}`);
    assert.notEqual(sampled[0][5], 3, "the stop token is masked before minNewTokens");
  }
});
