// The logprob kernels on cuda (logSoftmax, gatherColumns, topK) against the cpu backend on F32 rows up to Llama 4's
// 202,048-token vocabulary: rows whose length is not a multiple of 4 (unaligned rows), -inf entries (masked tokens),
// many exact ties (topK takes the lower id), and topK's two sorts (shared memory up to 4,096, global memory above).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Tensor } from "../../src/runtime/tensor.js";
import { cpu, cuda, floatPair, host, intPair, poisonedPair, rng, skipCuda } from "./harness.js";

/** R x V logits-like F32 values in [-spread, spread); `ties` rounds them to quarters (few distinct values). */
function logits(random: () => number, R: number, V: number, spread: number, ties = false, masked = 0): Float32Array {
  const out = new Float32Array(R * V);
  for (let i = 0; i < out.length; i++) {
    const v = (2 * random() - 1) * spread;
    out[i] = ties ? Math.round(v * 4) / 4 : v;
  }
  for (let m = 0; m < masked; m++) out[Math.floor(random() * out.length)] = -Infinity;
  return out;
}

/** Equal element by element, the first differences (with the neighbours' context) in the message. */
function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 6; i++) {
    if (!Object.is(actual[i], expected[i]) && !(actual[i] === expected[i])) bad.push(`[${i}] cuda ${actual[i]} vs cpu ${expected[i]}`);
  }
  assert.equal(bad.length, 0, `${what}: ${bad.join(", ")}`);
}

/** |actual - expected| <= atol + rtol |expected|, or both the same infinity; the first failures in the message. */
function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 6; i++) {
    const a = actual[i], e = expected[i];
    if (a !== e && !(Math.abs(a - e) <= atol + rtol * Math.abs(e))) bad.push(`[${i}] cuda ${a} vs cpu ${e}`);
  }
  assert.equal(bad.length, 0, `${what}: ${bad.join(", ")}`);
}

describe("cuda logprob kernels", { skip: skipCuda }, () => {
  const random = rng(13);

  test("logSoftmax: long rows, unaligned rows, -inf entries, in place", async () => {
    for (const [R, V, masked] of [[1, 202_048, 0], [3, 151_936, 50], [5, 1000, 3], [4, 37, 2], [2, 1, 0]]) {
      const values = logits(random, R, V, 20, false, masked);
      const [cx, gx] = floatPair(values, [R, V], "F32");
      const [co, go] = poisonedPair([R, V], "F32");
      cpu.backend.logSoftmax(co, cx);
      cuda().backend.logSoftmax(go, gx);
      const expected = await host(co);
      // -inf stays -inf; finite entries agree to float rounding (sums in float64 on both).
      expectNear(await host(go), expected, 1e-6, 2e-5, `logSoftmax [${R}, ${V}]`);
      cuda().backend.logSoftmax(gx, gx);
      expectNear(await host(gx), expected, 1e-6, 2e-5, `logSoftmax in place [${R}, ${V}]`);
    }
  });

  test("gatherColumns: each row's own ids, first and last columns included", async () => {
    for (const [R, V, G] of [[4, 151_936, 7], [1, 202_048, 1], [3, 37, 5]]) {
      const [cx, gx] = floatPair(logits(random, R, V, 10), [R, V], "F32");
      const ids = Array.from({ length: R * G }, (_, i) => (i === 0 ? 0 : i === 1 ? V - 1 : Math.floor(random() * V)));
      const [ci, gi] = intPair(ids, [R, G]);
      const [co, go] = poisonedPair([R, G], "F32");
      cpu.backend.gatherColumns(co, cx, ci);
      cuda().backend.gatherColumns(go, gx, gi);
      expectSame(await host(go), await host(co), `gatherColumns [${R}, ${V}] G=${G}`);
    }
  });

  test("gatherColumns: an id outside the row gives NaN (the cpu throws)", async () => {
    const [, gx] = floatPair(Float32Array.of(1, 2, 3, 4), [2, 2], "F32");
    const [, gi] = intPair([1, -1, 2, 0], [2, 2]);
    const [, go] = poisonedPair([2, 2], "F32");
    cuda().backend.gatherColumns(go, gx, gi);
    const out = await host(go);
    assert.equal(out[0], 2);
    assert.ok(Number.isNaN(out[1]) && Number.isNaN(out[2]), `out of range ids: ${Array.from(out).join(", ")}`);
    assert.equal(out[3], 3);
  });

  // [R, V, K, spread, ties, masked]: small K, the shared-memory sort's limit, the global-memory sort, K = V.
  const cases: [number, number, number, number, boolean, number][] = [
    [3, 151_936, 1, 10, false, 0], [3, 151_936, 5, 10, false, 10], [2, 202_048, 20, 10, false, 0],
    [2, 151_936, 20, 4, true, 0], [4, 37, 10, 4, true, 3], [2, 1000, 1000, 2, true, 5], [1, 9, 9, 1, false, 9],
    [2, 50_000, 3000, 4, true, 0], [1, 20_000, 4096, 10, false, 0], [1, 20_000, 4097, 4, true, 0],
    [1, 151_936, 6000, 4, true, 100], [2, 5000, 5000, 0, true, 0],
  ];
  for (const [R, V, K, spread, ties, masked] of cases) {
    test(`topK: [${R}, ${V}] k=${K}${ties ? ", many ties" : ""}${masked ? ", -inf entries" : ""}`, async () => {
      const values = logits(random, R, V, spread, ties, masked);
      const [cx, gx] = floatPair(values, [R, V], "F32");
      const [cv, gv] = poisonedPair([R, K], "F32");
      const [ci, gi] = poisonedPair([R, K], "I32");
      cpu.backend.topK(cv, ci, cx);
      cuda().backend.topK(gv, gi, gx);
      const [ids, expectedIds] = [await host(gi), await host(ci)];
      expectSame(ids, expectedIds, `topK ids [${R}, ${V}] k=${K}`);
      expectSame(await host(gv), await host(cv), `topK values [${R}, ${V}] k=${K}`);
      assert.deepEqual(await host(gx), values, "topK leaves x unchanged");
    });
  }

  test("topK on log-softmaxed rows, as the runner calls it (views into larger buffers)", async () => {
    const R = 3, V = 151_936, K = 8;
    const [cx, gx] = floatPair(logits(random, R, V, 15, false, 20), [R, V], "F32");
    cpu.backend.logSoftmax(cx, cx);
    cuda().backend.logSoftmax(gx, gx);
    // The runner writes into narrowed views of one values buffer: offset by one element (not 16-byte aligned).
    const [cbuf, gbuf] = poisonedPair([1 + R * K], "F32");
    const [cids, gids] = poisonedPair([R * K], "I32");
    const view = (t: Tensor) => t.narrow(1, R * K).view([R, K]);
    cpu.backend.topK(view(cbuf), cids.view([R, K]), cx);
    cuda().backend.topK(view(gbuf), gids.view([R, K]), gx);
    expectSame(await host(gids), await host(cids), "topK ids after logSoftmax");
    const [values, expected] = [await host(gbuf), await host(cbuf)];
    assert.ok(Number.isNaN(values[0]), "the element before the view stays poisoned");
    expectNear(values.subarray(1), expected.subarray(1), 1e-6, 2e-5, "topK values after logSoftmax");
  });
});
