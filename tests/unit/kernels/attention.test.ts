import { test } from "node:test";
import assert from "node:assert/strict";
import { attention } from "../../../src/kernels/attention.js";
import { assertClose, assertIrisError, f32Tensor, i32Tensor, randomTensor, read, rng } from "./helpers.js";
import { referenceAttention } from "./attention-reference.js";

async function checkSegments(lengths: number[], Hq: number, Hk: number, D: number, causal: boolean, seed: number): Promise<void> {
  const random = rng(seed);
  const T = lengths.reduce((a, b) => a + b, 0);
  const q = randomTensor([T, Hq, D], random), k = randomTensor([T, Hk, D], random), v = randomTensor([T, Hk, D], random);
  const cu = [0];
  for (const n of lengths) cu.push(cu[cu.length - 1] + n);
  const scale = 1 / Math.sqrt(D);
  const out = attention(q.t, k.t, v.t, { cuSeqlens: i32Tensor(cu), maxSeqLen: Math.max(0, ...lengths) }, { scale, causal });
  assert.deepEqual(out.shape, [T, Hq, D]);
  const expected = new Float64Array(T * Hq * D);
  for (let s = 0; s < lengths.length; s++) {
    const [first, n] = [cu[s], lengths[s]];
    const slice = (a: Float32Array, heads: number) => a.subarray(first * heads * D, (first + n) * heads * D);
    const ref = referenceAttention(slice(q.data, Hq), slice(k.data, Hk), slice(v.data, Hk), n, n, Hq, Hk, D, scale,
      (i, j) => !causal || j <= i);
    expected.set(ref, first * Hq * D);
  }
  assertClose(await read(out), expected, `segments [${lengths}] Hq=${Hq} Hk=${Hk} D=${D} causal=${causal}`);
}

test("attention within packed segments, non-causal (vision windows) and causal, empty segments included", async () => {
  await checkSegments([1, 5, 0, 70, 3], 4, 4, 8, false, 60);
  await checkSegments([1, 5, 0, 70, 3], 4, 4, 8, true, 61);
  await checkSegments([64, 16, 13], 16, 16, 80, false, 62); // Qwen's vision head dim
});

test("grouped KV heads: kv head j serves q heads j*g .. j*g+g-1", async () => {
  await checkSegments([9, 33], 6, 2, 10, true, 63);
  await checkSegments([1], 5, 1, 7, true, 64); // one query, one kv head
  await checkSegments([100], 8, 1, 4, false, 65); // MQA with more rows than one block
});

test("a single segment of one token returns its own value", async () => {
  const random = rng(66);
  const q = randomTensor([1, 2, 3], random), k = randomTensor([1, 1, 3], random), v = randomTensor([1, 1, 3], random);
  const out = await read(attention(q.t, k.t, v.t, { cuSeqlens: i32Tensor([0, 1]), maxSeqLen: 1 }, { scale: 0.5, causal: true }));
  assert.deepEqual(Array.from(out), [...v.data, ...v.data]);
});

test("attention refuses inconsistent inputs", () => {
  const random = rng(67);
  const q = randomTensor([4, 6, 8], random).t, k = randomTensor([4, 4, 8], random).t;
  const segments = { cuSeqlens: i32Tensor([0, 4]), maxSeqLen: 4 };
  const options = { scale: 0.3, causal: false };
  assertIrisError(() => attention(q, k, k, segments, options), "INVALID_ARGUMENT", /multiple of kv heads/);
  const k3 = randomTensor([4, 3, 8], random).t;
  assertIrisError(() => attention(q, k3, randomTensor([4, 3, 7], random).t, segments, options), "INVALID_ARGUMENT", /v must have shape/);
  assertIrisError(() => attention(q, k3, k3, { cuSeqlens: i32Tensor([0, 3]), maxSeqLen: 3 }, options), "INVALID_ARGUMENT", /from 0 to 4/);
  assertIrisError(() => attention(q, k3, k3, { cuSeqlens: f32Tensor([0, 4], [2]), maxSeqLen: 4 }, options), "INVALID_ARGUMENT", /I32/);
  assertIrisError(() => attention(q, k3, k3, segments, { scale: NaN, causal: false }), "INVALID_ARGUMENT", /scale/);
});
