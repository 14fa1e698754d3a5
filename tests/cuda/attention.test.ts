// Varlen and paged attention and the KV store on cuda against the cpu backend: head dims 16, 80, 88 and 128,
// grouped KV heads (up to 32 q heads per KV head), causal and not, prefix-cached and chunked prefill mixed with
// decode, Llama 4's chunked mask, and the long-context decode split along the sequence; the decode kernel with one
// lane a key and with four, and the tensor-core decode kernel (each of its block shapes forced), eagerly and replayed
// from a graph captured at other KV lengths; the vision towers' attention straight from the fused q|k|v product (q and
// k rotated in place, q, k, v read with the product's row stride), against the cpu and bit for bit against the copies
// it replaces.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rotaryAttentionQKV } from "../../src/kernels/rotary-attention-qkv.js";
import type { PagedAttentionMeta, RotaryStyle, Segments } from "../../src/runtime/backend.js";
import { fromHost } from "../../src/runtime/creation.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import { tuneCudaKernels } from "../../src/runtime/cuda/kernel-tuning.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { captureGraph, cpu, cuda, expectRelL2, floatPair, host, intPair, poisonedPair, randomValues, rng, shuffledPageTable, skipCuda } from "./harness.js";

describe("cuda attention", { skip: skipCuda }, () => {
  const random = rng(3);

  test("varlen attention over packed segments", async () => {
    const cases: [number[], number, number, number][] = [
      [[5, 1, 33, 70], 4, 4, 16], [[64, 64, 64], 16, 16, 80], [[100, 7], 16, 2, 128], [[40], 5, 1, 88], [[19, 3], 32, 1, 16],
    ];
    for (const [lengths, Hq, Hk, D] of cases) {
      const T = lengths.reduce((a, b) => a + b, 0);
      const cu = [0];
      for (const n of lengths) cu.push(cu[cu.length - 1] + n);
      const [cq, gq] = floatPair(randomValues(random, T * Hq * D, -2, 2), [T, Hq, D]);
      const [ck, gk] = floatPair(randomValues(random, T * Hk * D, -2, 2), [T, Hk, D]);
      const [cv, gv] = floatPair(randomValues(random, T * Hk * D), [T, Hk, D]);
      const [cc, gc] = intPair(cu);
      const maxSeqLen = Math.max(...lengths);
      for (const causal of [true, false]) {
        const [co, go] = poisonedPair([T, Hq, D]);
        const options = { scale: 1 / Math.sqrt(D), causal };
        cpu.backend.attention(co, cq, ck, cv, { cuSeqlens: cc, maxSeqLen }, options);
        cuda().backend.attention(go, gq, gk, gv, { cuSeqlens: gc, maxSeqLen }, options);
        expectRelL2(await host(go), await host(co), 1e-2, `attention ${causal ? "causal" : "full"} Hq=${Hq} Hk=${Hk} D=${D}`);
      }
    }
  });

  test("attention from the fused q|k|v product in place: head dims 80, 88, 16, several segments, as the cpu and the copies", async () => {
    interface QkvCase { lengths: number[]; Hq: number; Hk: number; D: number; R: number; style: RotaryStyle; causal: boolean; inPlace: boolean }
    const cases: QkvCase[] = [
      // Qwen2.5-VL: windows of 64 patches (edge windows of 32 and 16: attention_window.cu), then a whole picture's
      // 1,296; 16 heads of 80.
      { lengths: [64, 64, 32, 16, 64], Hq: 16, Hk: 16, D: 80, R: 40, style: "neox", causal: false, inPlace: true },
      // Windows with interleaved pairs, 7 heads (the last of a block's runs of 4 short), causal.
      { lengths: [64, 20, 64], Hq: 7, Hk: 7, D: 88, R: 44, style: "interleaved", causal: true, inPlace: true },
      { lengths: [1296, 100], Hq: 16, Hk: 16, D: 80, R: 40, style: "neox", causal: false, inPlace: true },
      // Llama 4: tiles of 577 (576 patches and the class token), 16 heads of 88, interleaved pairs.
      { lengths: [577, 577, 40], Hq: 16, Hk: 16, D: 88, R: 44, style: "interleaved", causal: false, inPlace: true },
      // Head dim 16, 4 q heads a KV head, causal, a partial rotation (R = 4: the one-pair rotary kernel), a 1-row segment.
      { lengths: [5, 40, 19, 1], Hq: 8, Hk: 2, D: 16, R: 4, style: "neox", causal: true, inPlace: true },
      // No segment of 16 rows: the tensor-core kernel does not take it, so the backend declines and the wrapper copies.
      { lengths: [3, 7, 15], Hq: 4, Hk: 4, D: 80, R: 40, style: "neox", causal: false, inPlace: false },
    ];
    for (const c of cases) {
      const T = c.lengths.reduce((a, b) => a + b, 0), heads = c.Hq + 2 * c.Hk, D = c.D;
      const what = `rotaryAttentionQKV segments [${c.lengths}] Hq=${c.Hq} Hk=${c.Hk} D=${D} R=${c.R} ${c.style}${c.causal ? " causal" : ""}`;
      const cu = [0];
      for (const n of c.lengths) cu.push(cu[cu.length - 1] + n);
      const values = randomValues(random, T * heads * D, -2, 2);
      const angles = Array.from({ length: T * c.R }, () => 20 * random() - 10);
      const [ccos, gcos] = floatPair(Float32Array.from(angles, Math.cos), [T, c.R], "F32");
      const [csin, gsin] = floatPair(Float32Array.from(angles, Math.sin), [T, c.R], "F32");
      const [ccu, gcu] = intPair(cu);
      const maxSeqLen = Math.max(...c.lengths);
      const cpuSegments: Segments = { cuSeqlens: ccu, maxSeqLen }, cudaSegments: Segments = { cuSeqlens: gcu, maxSeqLen };
      const options = { scale: 1 / Math.sqrt(D), causal: c.causal };
      const [cqkv, gqkv] = floatPair(values, [T, heads, D]);
      const [co, go] = poisonedPair([T, c.Hq, D]);
      assert.equal(cpu.backend.rotaryAttentionQKV?.(co, cqkv, c.Hk, ccos, csin, c.style, cpuSegments, options), true);
      const took = cuda().backend.rotaryAttentionQKV?.(go, gqkv, c.Hk, gcos, gsin, c.style, cudaSegments, options);
      assert.equal(took, c.inPlace, `${what}: in place`);
      if (!c.inPlace) {
        // Declined having enqueued nothing: out still poisoned, the product as it was; the wrapper's copies serve it.
        assert.ok((await host(go)).every(Number.isNaN), `${what}: out written by a declined call`);
        assert.deepEqual(await host(gqkv), values, `${what}: the product changed by a declined call`);
        rotaryAttentionQKV(gqkv, c.Hk, gcos, gsin, c.style, cudaSegments, options, go);
      }
      expectRelL2(await host(go), await host(co), 1e-2, what);
      if (!c.inPlace) continue;
      // The product left as it was (windows of at most 64 rows: attention_window.cu rotates in shared memory), or q
      // and k rotated inside it as the cpu rotated them (one bf16 rounding each), v's columns untouched either way.
      const rotated = await host(gqkv);
      const windows = c.Hq === c.Hk && maxSeqLen <= 64 && c.R % 4 === 0;
      if (windows) assert.deepEqual(rotated, values, `${what}: the window kernel changed the product`);
      else expectRelL2(rotated, await host(cqkv), 1e-2, `${what}: q and k rotated in place`);
      for (let t = 0; t < T; t++) {
        const v = (t * heads + c.Hq + c.Hk) * D, end = (t + 1) * heads * D;
        assert.deepEqual(rotated.subarray(v, end), values.subarray(v, end), `${what}: v of row ${t} changed`);
      }
      // The windows' kernel off: q and k rotated in place, then the tensor-core kernel; the same bits.
      if (windows) {
        tuneCudaKernels({ attentionWindows: false });
        try {
          const [, fresh] = floatPair(values, [T, heads, D]);
          const [, apart] = poisonedPair([T, c.Hq, D]);
          assert.equal(cuda().backend.rotaryAttentionQKV?.(apart, fresh, c.Hk, gcos, gsin, c.style, cudaSegments, options), true);
          assert.notDeepEqual(await host(fresh), values, `${what}: the windows' kernel off, yet the product was not rotated`);
          assert.deepEqual(await host(apart), await host(go), `${what}: the windows' kernel and rotation + tensor cores differ`);
        } finally {
          tuneCudaKernels({});
        }
      }
      // The path before (three copies, the rotation of the copies, attention of packed tensors), forced by the knob:
      // the same rotary arithmetic and the same tensor-core kernel on the same values, so the same bits.
      tuneCudaKernels({ attentionQkvInPlace: false });
      try {
        const [, fresh] = floatPair(values, [T, heads, D]);
        assert.equal(cuda().backend.rotaryAttentionQKV?.(go, fresh, c.Hk, gcos, gsin, c.style, cudaSegments, options), false,
          `${what}: the knob off still in place`);
        const copies = rotaryAttentionQKV(fresh, c.Hk, gcos, gsin, c.style, cudaSegments, options);
        assert.deepEqual(await host(copies), await host(go), `${what}: in place and the copies differ`);
      } finally {
        tuneCudaKernels({});
      }
    }
  });

  interface Batch { qLens: number[]; kvLens: number[] }
  /** Said in pagedCase's failure messages (the kernel knobs a case runs under). */
  let knobs = "";

  /** Builds caches holding random keys at every position of every sequence (pages shuffled) plus this step's. */
  /** `launchKvLen`: the launch bound of KV length, when larger than the batch's (the engine's decode uses the context length). */
  async function pagedCase(batch: Batch, Hq: number, Hk: number, D: number, pageSize: number, chunkSize?: number, splits = 0, launchKvLen = 0) {
    const S = batch.qLens.length, T = batch.qLens.reduce((a, b) => a + b, 0);
    const pagesOf = batch.kvLens.map((n) => Math.ceil(n / pageSize));
    const maxPages = Math.max(...pagesOf);
    const { table, numPages } = shuffledPageTable(random, pagesOf, maxPages, 3);
    const numSlots = numPages * pageSize;
    // Every slot holds random keys, owned or not: a read past a mask or a wrong page shows in the output.
    const cacheValues = (lo: number, hi: number) => randomValues(random, numSlots * Hk * D, lo, hi);
    const [ckc, gkc] = floatPair(cacheValues(-2, 2), [numSlots, Hk, D]);
    const [cvc, gvc] = floatPair(cacheValues(-1, 1), [numSlots, Hk, D]);
    // This step's keys go through storeKV at the positions kvLen - qLen ..; one padding token (slot -1) is skipped.
    const slots: number[] = [];
    for (let s = 0; s < S; s++) {
      for (let i = 0; i < batch.qLens[s]; i++) {
        const pos = batch.kvLens[s] - batch.qLens[s] + i;
        slots.push(table[s * maxPages + Math.floor(pos / pageSize)] * pageSize + (pos % pageSize));
      }
    }
    slots.push(-1);
    const [cks, gks] = floatPair(randomValues(random, (T + 1) * Hk * D, -2, 2), [T + 1, Hk, D]);
    const [cvs, gvs] = floatPair(randomValues(random, (T + 1) * Hk * D), [T + 1, Hk, D]);
    const [csl, gsl] = intPair(slots);
    cpu.backend.storeKV(cks, cvs, ckc, cvc, csl);
    cuda().backend.storeKV(gks, gvs, gkc, gvc, gsl);
    assert.deepEqual(await host(gkc), await host(ckc), "storeKV keys");
    assert.deepEqual(await host(gvc), await host(cvc), "storeKV values");

    const starts = [0];
    for (const n of batch.qLens) starts.push(starts[starts.length - 1] + n);
    const [cqs, gqs] = intPair(starts);
    const [ckv, gkv] = intPair(batch.kvLens);
    const [cpt, gpt] = intPair(table, [S, maxPages]);
    const meta = (queryStart: Tensor, kvLens: Tensor, pageTable: Tensor): PagedAttentionMeta => ({
      queryStart, kvLens, pageTable, pageSize, maxQueryLen: Math.max(...batch.qLens), maxKvLen: Math.max(launchKvLen, ...batch.kvLens),
    });
    const [cq, gq] = floatPair(randomValues(random, T * Hq * D, -2, 2), [T, Hq, D]);
    const [co, go] = poisonedPair([T, Hq, D]);
    const options = { scale: 1 / Math.sqrt(D), chunkSize };
    cpu.backend.pagedAttention(co, cq, ckc, cvc, meta(cqs, ckv, cpt), options);
    const backend = cuda().backend as CudaBackend;
    backend.attentionSplits = splits;
    try {
      backend.pagedAttention(go, gq, gkc, gvc, meta(gqs, gkv, gpt), options);
    } finally {
      backend.attentionSplits = 0;
    }
    const what = `pagedAttention q=${batch.qLens} kv=${batch.kvLens} Hq=${Hq} Hk=${Hk} D=${D}` +
      `${chunkSize ? ` chunk=${chunkSize}` : ""}${splits ? ` splits=${splits}` : ""}${knobs}`;
    expectRelL2(await host(go), await host(co), 1e-2, what);
  }

  test("paged attention: mixed prefill, prefix-cached prefill and decode, GQA", async () => {
    const mixed = { qLens: [20, 5, 1, 1, 3], kvLens: [20, 50, 37, 1, 130] };
    await pagedCase(mixed, 16, 2, 128, 16);
    await pagedCase(mixed, 4, 4, 16, 4);
    await pagedCase({ qLens: [1, 1, 1, 1], kvLens: [9, 100, 64, 65] }, 40, 8, 128, 16);
  });

  test("paged attention: Llama 4's chunked mask", async () => {
    await pagedCase({ qLens: [12, 1, 30], kvLens: [40, 33, 30] }, 5, 1, 128, 16, 8);
  });

  test("paged attention: decode split along the sequence, forced and automatic", async () => {
    await pagedCase({ qLens: [1, 4, 1], kvLens: [300, 200, 64] }, 16, 2, 128, 16, undefined, 3);
    await pagedCase({ qLens: [1, 2], kvLens: [3000, 999] }, 16, 2, 128, 32, undefined, 7);
    await pagedCase({ qLens: [1], kvLens: [5000] }, 16, 2, 128, 16); // few blocks, long keys: splits on its own
    await pagedCase({ qLens: [1], kvLens: [2048] }, 8, 8, 16, 16, 128, 5);
  });

  test("paged attention: the decode kernel (one query a sequence) at the models' shapes, launched for the longest context", async () => {
    const decode = (kvLens: number[]) => ({ qLens: kvLens.map(() => 1), kvLens });
    tuneCudaKernels({ attentionDecodeMma: false, attentionDecodeTensorCores: false }); // batch 64 would go to the tensor cores by the backend's rule
    try {
      await pagedCase(decode([1, 400, 37, 129]), 16, 2, 128, 16, undefined, 0, 4096); // Qwen2.5-VL-3B, as the engine launches it
      await pagedCase(decode([700, 3]), 28, 4, 128, 16, undefined, 0, 32768); // 7B: 7 q heads a KV head
      await pagedCase(decode([9000, 8193, 100]), 40, 8, 128, 16, 8192, 0, 16384); // Llama 4's chunked layers
      await pagedCase(decode(Array.from({ length: 64 }, (_, i) => 1 + ((i * 97) % 900))), 16, 2, 128, 16, undefined, 0, 4096); // batch 64
      await pagedCase(decode([250, 31]), 8, 2, 64, 16);
      await pagedCase(decode([77, 2]), 2, 2, 32, 8);
      // Forced split counts: one split (no merge), a split count that leaves empty splits, the most the merge holds.
      for (const splits of [1, 3, 32]) await pagedCase(decode([1, 400, 129]), 16, 2, 128, 16, undefined, splits, 4096);
    } finally {
      tuneCudaKernels({});
    }
  });

  test("paged attention: the decode kernel with one lane a key and with four, forced (G = 8, 7, 5, 1; head dims 64, 128)", async () => {
    const decode = (kvLens: number[]) => ({ qLens: kvLens.map(() => 1), kvLens });
    try {
      for (const lanes of [1, 4]) {
        // G = 8 (Qwen2.5-VL-3B): the rule's blocks (four of two heads at batch 1), one block of eight, four of two
        // and eight of one forced.
        for (const parts of [0, 1, 4, 8]) {
          tuneCudaKernels({ attentionLanesPerKey: lanes, attentionParts: parts, attentionDecodeMma: false, attentionDecodeTensorCores: false });
          knobs = ` lanes=${lanes} parts=${parts}`;
          await pagedCase(decode([1, 31, 400, 1000]), 16, 2, 128, 16, undefined, 0, 4096); // launched for the context length
          await pagedCase(decode([400]), 16, 2, 128, 16, undefined, 0, 4096); // batch 1, as the benchmark
          await pagedCase(decode([1000, 1, 31, 400]), 16, 2, 64, 16); // launched for the batch's longest
          // Forced split counts: one split (no merge), a count that leaves empty splits, the most the merge holds.
          for (const splits of [1, 3, 32]) await pagedCase(decode([1, 400, 129]), 16, 2, 128, 16, undefined, splits, 4096);
        }
        tuneCudaKernels({ attentionLanesPerKey: lanes, attentionDecodeMma: false, attentionDecodeTensorCores: false });
        knobs = ` lanes=${lanes}`;
        await pagedCase(decode([700, 3, 31]), 28, 4, 128, 16, undefined, 0, 32768); // G = 7 (7B)
        await pagedCase(decode([31, 1000, 1, 400]), 40, 8, 128, 16, undefined, 0, 4096); // G = 5 (Llama 4 Scout)
        await pagedCase(decode([9000, 8193, 100, 31]), 40, 8, 128, 16, 8192, 0, 16384); // Scout's chunked layers
        await pagedCase(decode([400, 1, 129, 65, 1000]), 5, 1, 64, 16, 64); // chunks of 64: 16, 1, 1, 1 and 40 keys
        await pagedCase(decode([31, 400, 1, 1000]), 4, 4, 128, 32, undefined, 0, 4096); // G = 1
        await pagedCase(decode([1000, 31]), 2, 2, 64, 8);
        await pagedCase(decode([77, 2]), 2, 2, 32, 8); // head dim 32: one lane a key whatever the knob
      }
    } finally {
      tuneCudaKernels({});
      knobs = "";
    }
  });

  test("paged attention: decode on its tensor-core kernel, forced (G = 8, 5, 4, 1; head dims 64, 128; batches 1, 3, 64)", async () => {
    const decode = (kvLens: number[]) => ({ qLens: kvLens.map(() => 1), kvLens });
    tuneCudaKernels({ attentionDecodeTensorCores: true });
    knobs = " tensor-core decode";
    try {
      await pagedCase(decode([400]), 16, 2, 128, 16, undefined, 0, 4096); // Qwen2.5-VL-3B at batch 1, as the benchmark
      await pagedCase(decode([1, 31, 1000]), 16, 2, 128, 16, undefined, 0, 4096); // batch 3: 1 key, part of a tile, many
      await pagedCase(decode(Array.from({ length: 64 }, (_, i) => 1 + ((i * 97) % 900))), 16, 2, 128, 16, undefined, 0, 4096); // batch 64
      await pagedCase(decode(Array.from({ length: 64 }, (_, i) => 300 + ((i * 37) % 200))), 16, 2, 128, 16); // batch 64 near 400 keys
      // Forced split counts: one split (no merge), a count that leaves empty splits, the most the merge holds.
      for (const splits of [1, 3, 32]) await pagedCase(decode([1, 400, 129]), 16, 2, 128, 16, undefined, splits, 4096);
      await pagedCase(decode([31, 1000, 1, 400]), 40, 8, 128, 16, undefined, 0, 4096); // G = 5 (Llama 4 Scout)
      await pagedCase(decode([9000, 8193, 100, 31]), 40, 8, 128, 16, 8192, 0, 16384); // Scout's chunked layers
      await pagedCase(decode([700, 129, 128]), 40, 8, 128, 16, 128, 4); // chunks of 128, forced 4 splits
      await pagedCase(decode(Array.from({ length: 64 }, (_, i) => 1 + ((i * 131) % 1200))), 40, 8, 128, 16, 512, 0, 4096); // Scout batch 64
      await pagedCase(decode([700, 3, 31]), 16, 4, 128, 16, undefined, 0, 32768); // G = 4
      await pagedCase(decode([1000, 1, 31, 400]), 16, 2, 64, 16, undefined, 5); // head dim 64
      await pagedCase(decode([400, 1, 129, 65, 1000]), 5, 1, 64, 16, 64); // chunks of 64
      await pagedCase(decode([31, 400, 1, 1000]), 4, 4, 128, 32, undefined, 0, 4096); // G = 1, pages of 32
      await pagedCase(decode([250, 31]), 8, 2, 128, 8); // pages of 8
    } finally {
      tuneCudaKernels({});
      knobs = "";
    }
  });

  test("paged attention: decode on its tensor-core kernel, each block shape forced (1, 2, 4 warps x 2, 3, 4 stages)", async () => {
    const decode = (kvLens: number[]) => ({ qLens: kvLens.map(() => 1), kvLens });
    const spread = (count: number, step: number, span: number) => Array.from({ length: count }, (_, i) => 1 + ((i * step) % span));
    try {
      for (const warps of [1, 2, 4]) {
        for (const stages of [2, 3, 4]) {
          tuneCudaKernels({ attentionDecodeTensorCores: true, attentionDecodeTensorCoresWarps: warps, attentionDecodeTensorCoresStages: stages });
          knobs = ` tensor-core decode ${warps} warps x ${stages} stages`;
          await pagedCase(decode([400]), 16, 2, 128, 16, undefined, 0, 4096); // batch 1, split by the rule
          await pagedCase(decode([1, 31, 1000]), 16, 2, 128, 16, undefined, 0, 4096); // 1 key, part of a tile, many
          await pagedCase(decode(spread(64, 97, 900)), 16, 2, 128, 16, undefined, 0, 4096); // batch 64
          // Batch 260: 520 pairs, past one wave of 4-warp blocks on 132 multiprocessors (no splits; the rule's warp a
          // pair), lengths around 400.
          await pagedCase(decode(spread(260, 37, 500).map((n) => n + 150)), 16, 2, 128, 16, undefined, 0, 1024);
          for (const splits of [1, 3, 32]) await pagedCase(decode([1, 400, 129]), 16, 2, 128, 16, undefined, splits, 4096);
          await pagedCase(decode([9000, 8193, 100, 31]), 40, 8, 128, 16, 8192, 0, 16384); // Scout's chunked layers
          await pagedCase(decode(spread(64, 131, 1200)), 40, 8, 128, 16, 512, 0, 4096); // Scout batch 64: 512 pairs
          await pagedCase(decode([1000, 1, 31, 400]), 16, 2, 64, 16, undefined, 5); // head dim 64, forced splits
          await pagedCase(decode(spread(100, 53, 700)), 16, 2, 64, 3, 64); // head dim 64, pages of 3, chunks of 64
        }
      }
    } finally {
      tuneCudaKernels({});
      knobs = "";
    }
  });

  test("paged attention: a decode captured once (one lane a key, four, the tensor-core kernel) replays at other KV lengths", async () => {
    const backend = cuda().backend as CudaBackend;
    const S = 3, Hq = 16, Hk = 2, D = 128, pageSize = 16, maxPages = 64, launchKvLen = maxPages * pageSize;
    const numSlots = S * maxPages * pageSize;
    const order = Array.from({ length: S * maxPages }, (_, i) => i).sort(() => random() - 0.5);
    const [cpt, gpt] = intPair(order, [S, maxPages]);
    const [ckc, gkc] = floatPair(randomValues(random, numSlots * Hk * D, -2, 2), [numSlots, Hk, D]);
    const [cvc, gvc] = floatPair(randomValues(random, numSlots * Hk * D, -1, 1), [numSlots, Hk, D]);
    const [cq, gq] = floatPair(randomValues(random, S * Hq * D, -2, 2), [S, Hq, D]);
    const [cqs, gqs] = intPair([0, 1, 2, 3]);
    const [, gkv] = intPair([1, 1, 1]);
    const options = { scale: 1 / Math.sqrt(D) };
    const gmeta: PagedAttentionMeta = { queryStart: gqs, kvLens: gkv, pageTable: gpt, pageSize, maxQueryLen: 1, maxKvLen: launchKvLen };
    const [co, go] = poisonedPair([S, Hq, D]);
    for (const lanes of [1, 4, 0, -1]) { // 0: the tensor-core decode kernel, -1: with a warp of three stages a block
      tuneCudaKernels(lanes > 0 ? { attentionLanesPerKey: lanes, attentionDecodeMma: false, attentionDecodeTensorCores: false }
        : { attentionDecodeTensorCores: true, ...(lanes < 0 && { attentionDecodeTensorCoresWarps: 1, attentionDecodeTensorCoresStages: 3 }) });
      let graph: number;
      try {
        backend.upload(gkv, Int32Array.from([5, 77, 300]));
        backend.pagedAttention(go, gq, gkc, gvc, gmeta, options); // eagerly first: the split workspace exists before the capture
        graph = captureGraph(backend, () => backend.pagedAttention(go, gq, gkc, gvc, gmeta, options));
      } finally {
        tuneCudaKernels({}); // the graph keeps the kernel it captured
      }
      for (const kvLens of [[1, 31, 400], [1000, 1, 31], [400, 1024, 129], [5, 77, 300]]) {
        backend.upload(gkv, Int32Array.from(kvLens));
        backend.fill(go, NaN);
        backend.replay(graph);
        const ckv = fromHost(cpu, Int32Array.from(kvLens), { shape: [S], dtype: "I32" });
        cpu.backend.pagedAttention(co, cq, ckc, cvc, { queryStart: cqs, kvLens: ckv, pageTable: cpt, pageSize, maxQueryLen: 1, maxKvLen: launchKvLen }, options);
        expectRelL2(await host(go), await host(co), 1e-2, `replayed decode attention ${lanes > 0 ? `lanes=${lanes}` : lanes < 0 ? "tensor cores 1x3" : "tensor cores"} kv=${kvLens}`);
      }
      backend.destroyGraph(graph);
    }
  });

  test("paged attention: decode on the tensor-core kernel (the backend's choice at large batches)", async () => {
    const decode = (kvLens: number[]) => ({ qLens: kvLens.map(() => 1), kvLens });
    tuneCudaKernels({ attentionDecodeMma: true, attentionDecodeTensorCores: false });
    try {
      await pagedCase(decode([1, 400, 37, 129]), 16, 2, 128, 16, undefined, 0, 4096);
      await pagedCase(decode([700, 3]), 28, 4, 128, 16, undefined, 0, 32768);
      await pagedCase(decode([9000, 8193, 100]), 40, 8, 128, 16, 8192, 0, 16384);
      await pagedCase(decode(Array.from({ length: 64 }, (_, i) => 1 + ((i * 97) % 900))), 16, 2, 128, 16, undefined, 0, 4096);
      await pagedCase(decode([250, 31]), 8, 2, 64, 16);
    } finally {
      tuneCudaKernels({});
    }
  });
});
