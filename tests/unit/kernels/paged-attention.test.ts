import { test } from "node:test";
import assert from "node:assert/strict";
import { pagedAttention } from "../../../src/kernels/paged-attention.js";
import { storeKV } from "../../../src/kernels/store-kv.js";
import { full } from "../../../src/runtime/creation.js";
import { assertClose, assertIrisError, device, f32Tensor, i32Tensor, randomArray, read, rng } from "./helpers.js";
import { referenceAttention } from "./attention-reference.js";

interface Sequence { kvLen: number; qLen: number }

/**
 * Builds paged caches (NaN where nothing was stored, so a stray read shows), stores each sequence's cached prefix
 * in one step and this step's tokens in another, runs one mixed batch and compares every sequence with plain
 * causal attention over its whole key sequence.
 */
async function checkBatch(seqs: Sequence[], pageSize: number, chunkSize: number | undefined, seed: number): Promise<void> {
  const random = rng(seed);
  const Hq = 4, Hk = 2, D = 8, scale = 0.35;
  const pagesOf = seqs.map((s) => Math.ceil(s.kvLen / pageSize));
  const maxPages = Math.max(...pagesOf) + 1; // a spare column: entries past a sequence's pages must be ignored
  const numPages = pagesOf.reduce((a, b) => a + b, 0) + 3;
  // Pages handed out in a shuffled order, so no sequence owns a contiguous run.
  const free = Array.from({ length: numPages }, (_, i) => i);
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [free[i], free[j]] = [free[j], free[i]];
  }
  const table = new Int32Array(seqs.length * maxPages).fill(-5);
  seqs.forEach((_, s) => { for (let p = 0; p < pagesOf[s]; p++) table[s * maxPages + p] = free.pop()!; });
  const slotOf = (s: number, pos: number) => table[s * maxPages + Math.floor(pos / pageSize)] * pageSize + (pos % pageSize);

  const kCache = full(device, [numPages * pageSize, Hk, D], NaN), vCache = full(device, [numPages * pageSize, Hk, D], NaN);
  const keys = seqs.map((s) => randomArray(s.kvLen * Hk * D, random));
  const values = seqs.map((s) => randomArray(s.kvLen * Hk * D, random));
  const row = Hk * D;
  const stepRows = (from: (s: Sequence) => number, to: (s: Sequence) => number) => {
    const k: number[] = [], v: number[] = [], slots: number[] = [];
    seqs.forEach((seq, s) => {
      for (let pos = from(seq); pos < to(seq); pos++) {
        k.push(...keys[s].subarray(pos * row, (pos + 1) * row));
        v.push(...values[s].subarray(pos * row, (pos + 1) * row));
        slots.push(slotOf(s, pos));
      }
    });
    return { k: f32Tensor(k, [slots.length, Hk, D]), v: f32Tensor(v, [slots.length, Hk, D]), slots: i32Tensor(slots) };
  };
  const prefix = stepRows(() => 0, (s) => s.kvLen - s.qLen);
  storeKV(prefix.k, prefix.v, kCache, vCache, prefix.slots);
  const step = stepRows((s) => s.kvLen - s.qLen, (s) => s.kvLen);
  storeKV(step.k, step.v, kCache, vCache, step.slots);

  const T = seqs.reduce((a, s) => a + s.qLen, 0);
  const qData = randomArray(T * Hq * D, random);
  const queryStart = [0];
  for (const s of seqs) queryStart.push(queryStart[queryStart.length - 1] + s.qLen);
  const meta = {
    queryStart: i32Tensor(queryStart), kvLens: i32Tensor(seqs.map((s) => s.kvLen)), pageTable: i32Tensor(table, [seqs.length, maxPages]),
    pageSize, maxQueryLen: Math.max(...seqs.map((s) => s.qLen)), maxKvLen: Math.max(...seqs.map((s) => s.kvLen)),
  };
  const out = pagedAttention(f32Tensor(qData, [T, Hq, D]), kCache, vCache, meta, { scale, chunkSize });
  const expected = new Float64Array(T * Hq * D);
  seqs.forEach((seq, s) => {
    const first = queryStart[s], offset = seq.kvLen - seq.qLen;
    const visible = (i: number, j: number) => {
      const pos = offset + i;
      return j <= pos && (chunkSize === undefined || Math.floor(j / chunkSize) === Math.floor(pos / chunkSize));
    };
    const q = qData.subarray(first * Hq * D, (first + seq.qLen) * Hq * D);
    expected.set(referenceAttention(q, keys[s], values[s], seq.qLen, seq.kvLen, Hq, Hk, D, scale, visible), first * Hq * D);
  });
  const got = await read(out);
  assert.ok(got.every(Number.isFinite), "no unstored (NaN) slot was read");
  assertClose(got, expected, `pageSize ${pageSize} chunk ${chunkSize}`);
}

// Full prefill, prefix-cached (or chunked) prefill, decodes of short and long sequences, and a one-token sequence.
const MIXED: Sequence[] = [
  { kvLen: 13, qLen: 13 }, { kvLen: 20, qLen: 7 }, { kvLen: 9, qLen: 1 }, { kvLen: 1, qLen: 1 }, { kvLen: 37, qLen: 1 },
  { kvLen: 70, qLen: 66 },
];

test("pagedAttention equals causal attention over each whole sequence, for page sizes 1, 4 and 16", async () => {
  for (const [i, pageSize] of [1, 4, 16].entries()) await checkBatch(MIXED, pageSize, undefined, 70 + i);
});

test("pagedAttention with chunked attention sees only keys of the query's chunk", async () => {
  await checkBatch(MIXED, 4, 5, 80);
  await checkBatch(MIXED, 16, 16, 81);
  await checkBatch([{ kvLen: 40, qLen: 1 }, { kvLen: 33, qLen: 12 }], 1, 8, 82);
});

test("pagedAttention: decode only and a single sequence", async () => {
  await checkBatch([{ kvLen: 5, qLen: 1 }, { kvLen: 17, qLen: 1 }, { kvLen: 2, qLen: 1 }], 4, undefined, 83);
  await checkBatch([{ kvLen: 1, qLen: 1 }], 1, undefined, 84);
});

test("storeKV skips negative slots and refuses slots past the cache", async () => {
  const kCache = full(device, [4, 1, 2], 0), vCache = full(device, [4, 1, 2], 0);
  const k = f32Tensor([1, 2, 3, 4, 5, 6], [3, 1, 2]), v = f32Tensor([-1, -2, -3, -4, -5, -6], [3, 1, 2]);
  storeKV(k, v, kCache, vCache, i32Tensor([2, -1, 0]));
  assert.deepEqual(Array.from(await read(kCache)), [5, 6, 0, 0, 1, 2, 0, 0]);
  assert.deepEqual(Array.from(await read(vCache)), [-5, -6, 0, 0, -1, -2, 0, 0]);
  assertIrisError(() => storeKV(k, v, kCache, vCache, i32Tensor([0, 1, 4])), "INVALID_ARGUMENT", /slot 4 is out of range/);
  assertIrisError(() => storeKV(k, v, kCache, vCache, i32Tensor([0, 1])), "INVALID_ARGUMENT", /slotMapping/);
  assertIrisError(() => storeKV(k, v, kCache, kCache, i32Tensor([0, 1, 2])), "INVALID_ARGUMENT", /same tensor/);
  assertIrisError(() => storeKV(k, v, full(device, [4, 2, 2], 0), vCache, i32Tensor([0, 1, 2])), "INVALID_ARGUMENT", /kCache/);
});

test("pagedAttention refuses inconsistent metadata", () => {
  const q = f32Tensor(new Float32Array(2 * 2 * 4).fill(0.1), [2, 2, 4]);
  const cache = full(device, [8, 1, 4], 0.2);
  const meta = { queryStart: i32Tensor([0, 2]), kvLens: i32Tensor([3]), pageTable: i32Tensor([0, 1], [1, 2]), pageSize: 4, maxQueryLen: 2, maxKvLen: 3 };
  assertIrisError(() => pagedAttention(q, cache, cache, { ...meta, pageSize: 3 }, { scale: 1 }), "INVALID_ARGUMENT", /whole pages/);
  assertIrisError(() => pagedAttention(q, cache, cache, { ...meta, kvLens: i32Tensor([3, 3]) }, { scale: 1 }), "INVALID_ARGUMENT", /kvLens/);
  assertIrisError(() => pagedAttention(q, cache, cache, { ...meta, kvLens: i32Tensor([1]) }, { scale: 1 }), "INVALID_ARGUMENT", /2 queries and 1 keys/);
  assertIrisError(() => pagedAttention(q, cache, cache, { ...meta, kvLens: i32Tensor([9]) }, { scale: 1 }), "INVALID_ARGUMENT", /at most 8/);
  assertIrisError(() => pagedAttention(q, cache, cache, { ...meta, pageTable: i32Tensor([0, 5], [1, 2]), kvLens: i32Tensor([6]) }, { scale: 1 }),
    "INVALID_ARGUMENT", /page 5 is out of range/);
  assertIrisError(() => pagedAttention(q, cache, cache, meta, { scale: 1, chunkSize: 0 }), "INVALID_ARGUMENT", /chunkSize/);
  assertIrisError(() => pagedAttention(q, full(device, [8, 1, 3], 0), cache, meta, { scale: 1 }), "INVALID_ARGUMENT", /kCache must have shape/);
});
