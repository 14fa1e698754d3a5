// Argmax, penalties and sampling on cuda: the same tokens as the cpu backend for the same uniform numbers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SamplingTensors } from "../../src/runtime/backend.js";
import { tuneCudaKernels } from "../../src/runtime/cuda/kernel-tuning.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { cpu, cuda, floatPair, host, intPair, poisonedPair, randomValues, rng, skipCuda } from "./harness.js";

describe("cuda sampling", { skip: skipCuda }, () => {
  const random = rng(4);

  test("argmax: first maximum, NaN never wins, F32 and BF16 logits", async () => {
    for (const [B, V] of [[1, 10], [4, 151_936], [3, 1000]]) {
      const values = randomValues(random, B * V, -5, 5);
      values[0] = NaN; // row 0 starts with NaN
      if (V > 100) { values[V + 7] = 9; values[V + 90] = 9; } // row 1: a tie, the lower index wins
      for (const dtype of ["F32", "BF16"] as const) {
        const [cl, gl] = floatPair(values, [B, V], dtype);
        const [co, go] = poisonedPair([B], "I32");
        cpu.backend.argmax(co, cl);
        cuda().backend.argmax(go, gl);
        assert.deepEqual(await host(go), await host(co), `argmax ${dtype} [${B}, ${V}]`);
      }
    }
  });

  test("argmax on the greedy batch's bf16 logits [512, 151936]: both kernels, ties, -inf and NaN rows", async () => {
    const V = 151_936;
    for (const B of [512, 64, 3, 1]) {
      const values = randomValues(random, B * V, -5, 5); // bf16 values in [-5, 5]: ties at the maximum are common
      const row = (r: number) => values.subarray(r * V, (r + 1) * V);
      const plant = (r: number, fill: (x: Float32Array) => void) => { if (r < B) fill(row(r)); };
      plant(0, (x) => { x[0] = NaN; });
      plant(1, (x) => { x[7] = 9; x[V / 2] = 9; x[V - 1] = 9; }); // a tie across slices: the lowest index
      plant(2, (x) => x.fill(NaN)); // index 0
      plant(3, (x) => x.fill(-Infinity)); // index 0
      plant(4, (x) => { x.fill(-Infinity); x[V - 5] = NaN; x[V - 4] = -8; });
      plant(5, (x) => { x[V - 1] = Infinity; x[3] = NaN; });
      plant(6, (x) => { x.fill(-1); x[100] = 0; x[90_000] = -0; }); // +0 first: the cpu and the keys agree
      plant(B - 1, (x) => { x[V - 2] = 8; }); // the last row's maximum near its end
      for (const dtype of ["BF16", "F32"] as const) {
        const [cl, gl] = floatPair(values, [B, V], dtype);
        const [co] = poisonedPair([B], "I32");
        cpu.backend.argmax(co, cl);
        const expected = await host(co);
        for (const argmaxVec16 of [true, false]) {
          tuneCudaKernels({ argmaxVec16 });
          try {
            for (let call = 0; call < 2; call++) { // the second call finds the row state the first left cleared
              const [, go] = poisonedPair([B], "I32");
              cuda().backend.argmax(go, gl);
              assert.deepEqual(await host(go), expected, `argmax ${dtype} [${B}, ${V}] ${argmaxVec16 ? "16-byte" : "scalar"} call ${call}`);
            }
          } finally {
            tuneCudaKernels({});
          }
        }
      }
    }
  });

  test("penalties: frequency, presence, then repetition", async () => {
    const B = 3, V = 500;
    const [cl, gl] = floatPair(randomValues(random, B * V, -4, 4), [B, V], "F32");
    const rowStart = [0, 3, 3, 8];
    const ids = [5, 100, 499, 0, 1, 2, 250, 7];
    const counts = [0, 2, 1, 5, 0, 1, 3, 0];
    const [ci, gi] = intPair(ids), [cc, gc] = intPair(counts), [cr, gr] = intPair(rowStart);
    const f32 = (v: number[]) => floatPair(Float32Array.from(v), [v.length], "F32");
    const [crep, grep] = f32([1.3, 1, 0.7]), [cfr, gfr] = f32([0.5, 0, 0.1]), [cpr, gpr] = f32([0.25, 0, 1]);
    cpu.backend.applyPenalties(cl, { tokenIds: ci, outputCounts: cc, rowStart: cr, repetition: crep, frequency: cfr, presence: cpr });
    cuda().backend.applyPenalties(gl, { tokenIds: gi, outputCounts: gc, rowStart: gr, repetition: grep, frequency: gfr, presence: gpr });
    assert.deepEqual(await host(gl), await host(cl));
  });

  test("sample: temperature, top-k, top-p, min-p and greedy rows give the cpu's tokens", async () => {
    const B = 8;
    // Peaked rows narrow to a few candidates; the flat 50,000-token rows keep too many and take the full-vocabulary path.
    for (const [V, spread, ties] of [[50, 3, false], [32_000, 8, false], [151_936, 12, true], [2000, 1, true], [50_000, 0.5, false]] as const) {
      for (let round = 0; round < 6; round++) {
        const values = randomValues(random, B * V, -spread, spread);
        // bf16-rounded logits of a narrow range: many exact ties, as real bf16 logits have
        if (ties) for (let i = 0; i < values.length; i++) values[i] = Math.round(values[i] * 4) / 4;
        const [cl, gl] = floatPair(values, [B, V], "F32");
        const rows = {
          temperature: [0, 0.7, 1, 1.3, 0.5, 1, 2, 0.9],
          topK: [-1, -1, 40, 1, 5, -1, 1 << 30, 200],
          topP: [1, 0.9, 1, 1, 0.8, 0.95, 0.5, 0.99],
          minP: [0, 0, 0.05, 0, 0.1, 0, 0.2, 0],
        };
        const uniform = Array.from({ length: B }, () => random());
        const pair = (v: number[], dtype: "F32" | "I32") => dtype === "I32" ? intPair(v) : floatPair(Float32Array.from(v), [B], "F32");
        const make = (i: 0 | 1): SamplingTensors => ({
          temperature: pair(rows.temperature, "F32")[i] as Tensor, topK: pair(rows.topK, "I32")[i] as Tensor,
          topP: pair(rows.topP, "F32")[i] as Tensor, minP: pair(rows.minP, "F32")[i] as Tensor, uniform: pair(uniform, "F32")[i] as Tensor,
        });
        const [co, go] = poisonedPair([B], "I32");
        cpu.backend.sample(co, cl, make(0));
        cuda().backend.sample(go, gl, make(1));
        assert.deepEqual(await host(go), await host(co), `sample V=${V} round ${round}`);
        assert.deepEqual(await host(gl), values, "sample leaves the logits unchanged");
      }
    }
  });
});
