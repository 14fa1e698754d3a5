// The tensor-core attention kernel (native/cuda/kernels/attention_mma.cu) against the cpu backend at the shapes it
// serves: Qwen2.5-VL's vision tower (1,296-token full attention and ragged windows of <= 64, head dim 80), Llama 4's
// vision (head dim 88, zero-padded to 96 inside), paged prefill with head dim 128 and 16 q heads over 2 KV heads
// (351 tokens, prefix-cached and chunked prefill, decode rows in the same batch), Llama 4's chunked mask, and small
// or odd groupings (head dims 16 to 96, 32 or 5 q heads a KV head). Every call has 16 or more queries, so attention.cu
// hands it to the mma kernel; the scalar kernel's error on the same inputs is printed beside a failure, and the
// message names the largest error and the first bad element as [token, head, dim].
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PagedAttentionMeta } from "../../src/runtime/backend.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { cpu, cuda, floatPair, host, intPair, poisonedPair, randomValues, rng, shuffledPageTable, skipCuda } from "./harness.js";

/**
 * Relative L2 error, the largest absolute error, the first element off by more than 0.05 + 0.05 |expected|, and
 * which tokens and heads hold bad elements (a mask or row-mapping error shows as a pattern there).
 */
function errorReport(actual: ArrayLike<number>, expected: ArrayLike<number>, shape: readonly number[]) {
  const [, H, D] = shape;
  const at = (i: number) => `[${Math.floor(i / (H * D))}, ${Math.floor(i / D) % H}, ${i % D}]`;
  let diff = 0, norm = 0, maxErr = 0, maxAt = 0, firstBad = -1, bad = 0, nan = 0;
  const badTokens = new Set<number>(), badHeads = new Set<number>();
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], d = Math.abs(actual[i] - e);
    diff += d * d;
    norm += e * e;
    if (Number.isNaN(d)) nan++;
    else if (d > maxErr) {
      maxErr = d;
      maxAt = i;
    }
    if (!(d <= 0.05 + 0.05 * Math.abs(e))) {
      bad++;
      if (firstBad < 0) firstBad = i;
      badTokens.add(Math.floor(i / (H * D)));
      badHeads.add(Math.floor(i / D) % H);
    }
  }
  const rel = Math.sqrt(diff / Math.max(norm, 1e-30));
  const tokens = [...badTokens];
  const list = (xs: number[]) => (xs.length > 12 ? `${xs.slice(0, 6)} .. ${xs.slice(-6)}` : `${xs}`);
  const text = `relative L2 ${rel.toExponential(2)}, max |err| ${maxErr.toExponential(2)} at ${at(maxAt)} ` +
    `(${actual[maxAt]} vs ${expected[maxAt]}), ${bad} elements off (${nan} NaN)` +
    (firstBad >= 0 ? `, first at ${at(firstBad)} (${actual[firstBad]} vs ${expected[firstBad]}); ` +
      `${tokens.length} bad tokens: ${list(tokens)}; bad heads: ${list([...badHeads])}` : "");
  return { rel, text };
}

const backend = () => cuda().backend as CudaBackend;

/**
 * Runs `launch` on cuda with the mma kernel and again with the scalar kernel, and checks the mma output against
 * the cpu's within the bf16 tolerance of the other attention tests (relative L2 1e-2).
 */
async function expectAttention(what: string, shape: number[], cpuOut: Tensor, launch: (out: Tensor) => void): Promise<void> {
  const [, mmaOut] = poisonedPair(shape);
  const [, scalarOut] = poisonedPair(shape);
  launch(mmaOut);
  backend().useAttentionMma(false);
  try {
    launch(scalarOut);
  } finally {
    backend().useAttentionMma(true);
  }
  const expected = await host(cpuOut);
  const mma = errorReport(await host(mmaOut), expected, shape);
  const scalar = errorReport(await host(scalarOut), expected, shape);
  assert.ok(mma.rel <= 1e-2, `${what}: mma kernel ${mma.text}; scalar kernel on the same inputs: ${scalar.text}`);
}

describe("cuda attention on tensor cores", { skip: skipCuda }, () => {
  const random = rng(11);

  async function varlenCase(lengths: number[], Hq: number, Hk: number, D: number, causalModes: boolean[]) {
    const T = lengths.reduce((a, b) => a + b, 0);
    const cu = [0];
    for (const n of lengths) cu.push(cu[cu.length - 1] + n);
    const [cq, gq] = floatPair(randomValues(random, T * Hq * D, -2, 2), [T, Hq, D]);
    const [ck, gk] = floatPair(randomValues(random, T * Hk * D, -2, 2), [T, Hk, D]);
    const [cv, gv] = floatPair(randomValues(random, T * Hk * D), [T, Hk, D]);
    const [cc, gc] = intPair(cu);
    const maxSeqLen = Math.max(...lengths);
    for (const causal of causalModes) {
      const [co] = poisonedPair([T, Hq, D]);
      const options = { scale: 1 / Math.sqrt(D), causal };
      cpu.backend.attention(co, cq, ck, cv, { cuSeqlens: cc, maxSeqLen }, options);
      const what = `attention ${causal ? "causal" : "full"} lengths=${lengths.length > 6 ? `${lengths.length} segments` : lengths} ` +
        `Hq=${Hq} Hk=${Hk} D=${D}`;
      await expectAttention(what, [T, Hq, D], co, (out) => cuda().backend.attention(out, gq, gk, gv, { cuSeqlens: gc, maxSeqLen }, options));
    }
  }

  test("varlen: one tile, one head of 16 (the smallest call the kernel takes)", async () => {
    await varlenCase([16], 1, 1, 16, [false, true]);
    await varlenCase([64, 16], 2, 1, 16, [false, true]);
  });

  test("varlen: the vision tower's full attention, 1,296 tokens, 16 heads of 80", async () => {
    await varlenCase([1296], 16, 16, 80, [false]);
  });

  test("varlen: ragged windows of <= 64 patches, head dim 80, causal and not", async () => {
    await varlenCase([64, 64, 48, 64, 7, 64, 33, 64, 1, 16, 64, 50], 16, 16, 80, [false, true]);
  });

  test("varlen: Llama 4 vision, head dim 88 (padded to 96 in the kernel)", async () => {
    await varlenCase([577], 16, 16, 88, [false]);
    await varlenCase([100, 37, 20], 4, 4, 88, [false, true]);
  });

  test("varlen: head dims 128 (grouped), 96, 64, 32 and 16, 32 and 5 q heads a KV head", async () => {
    await varlenCase([200, 17], 16, 2, 128, [true, false]);
    await varlenCase([70, 33], 4, 2, 96, [true, false]);
    await varlenCase([70, 33], 4, 2, 32, [true, false]);
    await varlenCase([130, 66], 5, 1, 64, [true, false]);
    await varlenCase([40, 130], 4, 4, 16, [true, false]);
    await varlenCase([19, 70], 32, 1, 16, [true, false]);
  });

  interface Batch { qLens: number[]; kvLens: number[] }

  /** Caches with random keys in every slot (pages shuffled, a read through a wrong page shows) and a page table. */
  async function pagedCase(batch: Batch, Hq: number, Hk: number, D: number, pageSize: number, chunkSize?: number) {
    const S = batch.qLens.length, T = batch.qLens.reduce((a, b) => a + b, 0);
    const pagesOf = batch.kvLens.map((n) => Math.ceil(n / pageSize));
    const maxPages = Math.max(...pagesOf) + 1;  // a spare column of -1 past every sequence's pages
    const { table, numPages } = shuffledPageTable(random, pagesOf, maxPages, 3);
    const numSlots = numPages * pageSize;
    const [ckc, gkc] = floatPair(randomValues(random, numSlots * Hk * D, -2, 2), [numSlots, Hk, D]);
    const [cvc, gvc] = floatPair(randomValues(random, numSlots * Hk * D), [numSlots, Hk, D]);
    const starts = [0];
    for (const n of batch.qLens) starts.push(starts[starts.length - 1] + n);
    const [cqs, gqs] = intPair(starts);
    const [ckv, gkv] = intPair(batch.kvLens);
    const [cpt, gpt] = intPair(table, [S, maxPages]);
    const meta = (queryStart: Tensor, kvLens: Tensor, pageTable: Tensor): PagedAttentionMeta => ({
      queryStart, kvLens, pageTable, pageSize, maxQueryLen: Math.max(...batch.qLens), maxKvLen: Math.max(...batch.kvLens),
    });
    const [cq, gq] = floatPair(randomValues(random, T * Hq * D, -2, 2), [T, Hq, D]);
    const [co] = poisonedPair([T, Hq, D]);
    const options = { scale: 1 / Math.sqrt(D), chunkSize };
    cpu.backend.pagedAttention(co, cq, ckc, cvc, meta(cqs, ckv, cpt), options);
    const what = `pagedAttention q=${batch.qLens} kv=${batch.kvLens} Hq=${Hq} Hk=${Hk} D=${D} page=${pageSize}` +
      `${chunkSize ? ` chunk=${chunkSize}` : ""}`;
    await expectAttention(what, [T, Hq, D], co, (out) => cuda().backend.pagedAttention(out, gq, gkc, gvc, meta(gqs, gkv, gpt), options));
  }

  test("paged prefill: 351 tokens, 16 q heads over 2 KV heads of 128", async () => {
    await pagedCase({ qLens: [351], kvLens: [351] }, 16, 2, 128, 16);
  });

  test("paged prefill after a cached prefix, chunked prefill, decode rows in the batch, large pages", async () => {
    await pagedCase({ qLens: [100, 37, 16], kvLens: [400, 101, 16] }, 16, 2, 128, 16);
    await pagedCase({ qLens: [40, 1, 3, 64], kvLens: [90, 70, 3, 64 + 129] }, 16, 2, 128, 64);
    await pagedCase({ qLens: [33, 20], kvLens: [33 + 250, 20] }, 8, 8, 64, 32);
  });

  test("paged prefill with Llama 4's chunked mask", async () => {
    await pagedCase({ qLens: [70, 20, 33], kvLens: [150, 20, 100] }, 40, 8, 128, 16, 32);
    await pagedCase({ qLens: [90], kvLens: [90 + 45] }, 5, 1, 128, 16, 8);
  });
});
