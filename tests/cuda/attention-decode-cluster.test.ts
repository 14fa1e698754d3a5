// Decode attention on the tensor cores with its splits merged in a cluster of their blocks (through their shared
// memory: native/cuda/kernels/attention_decode_mma.cu) against the merge through the workspace: the same output bits
// on the same inputs, both against the cpu backend, eagerly and replayed from a graph captured at other KV lengths.
// The models' layouts: Qwen2.5-VL-3B (8 q heads a KV head, head dim 128) at batch 1 as the benchmark launches it,
// Scout (5, chunked layers), head dim 64, forced split counts (one that leaves a long sequence to the workspace).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PagedAttentionMeta } from "../../src/runtime/backend.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import { tuneCudaKernels } from "../../src/runtime/cuda/kernel-tuning.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { captureGraph, cpu, cuda, expectRelL2, floatPair, host, intPair, poisonedPair, randomValues, rng, shuffledPageTable, skipCuda } from "./harness.js";

interface DecodeCase { kvLens: number[]; Hq: number; Hk: number; D: number; chunkSize?: number; splits?: number; launchKvLen?: number }

describe("cuda decode attention, splits merged in a cluster", { skip: skipCuda }, () => {
  const random = rng(17);
  const pageSize = 16;

  /**
   * A decode step's inputs (one query a sequence, random keys in every slot, pages shuffled) on both devices, each
   * sequence's pages covering at least `coverKvLen` keys (a graph replayed at longer lengths).
   */
  function inputs(c: DecodeCase, coverKvLen = 0) {
    const S = c.kvLens.length;
    const pagesOf = c.kvLens.map((n) => Math.ceil(Math.max(n, coverKvLen) / pageSize));
    const maxPages = Math.max(...pagesOf);
    const { table, numPages } = shuffledPageTable(random, pagesOf, maxPages);
    const numSlots = numPages * pageSize;
    const [ckc, gkc] = floatPair(randomValues(random, numSlots * c.Hk * c.D, -2, 2), [numSlots, c.Hk, c.D]);
    const [cvc, gvc] = floatPair(randomValues(random, numSlots * c.Hk * c.D, -1, 1), [numSlots, c.Hk, c.D]);
    const [cq, gq] = floatPair(randomValues(random, S * c.Hq * c.D, -2, 2), [S, c.Hq, c.D]);
    const [cqs, gqs] = intPair(Array.from({ length: S + 1 }, (_, i) => i));
    const [ckv, gkv] = intPair(c.kvLens);
    const [cpt, gpt] = intPair(table, [S, maxPages]);
    const meta = (queryStart: Tensor, kvLens: Tensor, pageTable: Tensor): PagedAttentionMeta => ({
      queryStart, kvLens, pageTable, pageSize, maxQueryLen: 1, maxKvLen: Math.max(c.launchKvLen ?? 0, ...c.kvLens),
    });
    return {
      cpu: { q: cq, k: ckc, v: cvc, meta: meta(cqs, ckv, cpt) },
      cuda: { q: gq, k: gkc, v: gvc, kvLens: gkv, meta: meta(gqs, gkv, gpt) },
      options: { scale: 1 / Math.sqrt(c.D), chunkSize: c.chunkSize },
      outShape: [S, c.Hq, c.D],
    };
  }

  /**
   * The cuda output with the cluster's merge forced on or off (the tensor-core decode kernel forced either way), the
   * cluster's splits at least `splitKeys` long (0: the default, 128).
   */
  async function decode(c: DecodeCase, run: ReturnType<typeof inputs>, clusterMerge: boolean, splitKeys = 0): Promise<Float32Array> {
    const backend = cuda().backend as CudaBackend;
    const [, out] = poisonedPair(run.outShape);
    tuneCudaKernels({ attentionDecodeTensorCores: true, attentionDecodeClusterMerge: clusterMerge, attentionDecodeClusterSplitKeys: splitKeys });
    backend.attentionSplits = c.splits ?? 0;
    try {
      backend.pagedAttention(out, run.cuda.q, run.cuda.k, run.cuda.v, run.cuda.meta, run.options);
    } finally {
      backend.attentionSplits = 0;
      tuneCudaKernels({});
    }
    return (await host(out)) as Float32Array;
  }

  test("the cluster's merge gives the workspace's bits, and the cpu's values", async () => {
    const cases: DecodeCase[] = [
      { kvLens: [400], Hq: 16, Hk: 2, D: 128, launchKvLen: 4096 }, // Qwen2.5-VL-3B at batch 1, as the benchmark
      { kvLens: [1, 31, 1000], Hq: 16, Hk: 2, D: 128, launchKvLen: 4096 }, // one split alone, a cluster's worth
      { kvLens: [1, 400, 129, 2100], Hq: 16, Hk: 2, D: 128, splits: 32, launchKvLen: 4096 }, // 2,100 keys: the workspace
      { kvLens: [31, 1000, 1, 400], Hq: 40, Hk: 8, D: 128, launchKvLen: 4096 }, // Scout
      { kvLens: [9000, 8193, 100, 31], Hq: 40, Hk: 8, D: 128, chunkSize: 8192, launchKvLen: 16384 }, // Scout's chunked layers
      { kvLens: [1000, 1, 31, 400], Hq: 16, Hk: 2, D: 64, splits: 5 }, // head dim 64, clusters of 5
      { kvLens: [700, 129, 128], Hq: 16, Hk: 2, D: 128, splits: 3 }, // clusters of 3
    ];
    for (const c of cases) {
      const what = `decode kv=${c.kvLens} Hq=${c.Hq} Hk=${c.Hk} D=${c.D}${c.chunkSize ? ` chunk=${c.chunkSize}` : ""}${c.splits ? ` splits=${c.splits}` : ""}`;
      const run = inputs(c);
      const [expected] = poisonedPair(run.outShape);
      cpu.backend.pagedAttention(expected, run.cpu.q, run.cpu.k, run.cpu.v, run.cpu.meta, run.options);
      const viaWorkspace = await decode(c, run, false);
      const inCluster = await decode(c, run, true);
      expectRelL2(inCluster, await host(expected), 1e-2, `${what}: in a cluster, against the cpu`);
      assert.deepEqual(inCluster, viaWorkspace, `${what}: the cluster's merge and the workspace's differ`);
    }
  });

  test("shorter splits spread over a cluster (at least 32 and 64 keys a split) against the cpu", async () => {
    const cases: DecodeCase[] = [
      { kvLens: [400], Hq: 16, Hk: 2, D: 128, launchKvLen: 4096 }, // 7 splits of 64 at 64, 8 of 64 at 32 (tiles of 16)
      { kvLens: [1, 31, 100, 1000], Hq: 16, Hk: 2, D: 128, launchKvLen: 4096 }, // 100 keys: split in the cluster too
      { kvLens: [31, 1000, 1, 400], Hq: 40, Hk: 8, D: 128, launchKvLen: 4096 }, // Scout
    ];
    for (const splitKeys of [32, 64]) {
      for (const c of cases) {
        const run = inputs(c);
        const [expected] = poisonedPair(run.outShape);
        cpu.backend.pagedAttention(expected, run.cpu.q, run.cpu.k, run.cpu.v, run.cpu.meta, run.options);
        const inCluster = await decode(c, run, true, splitKeys);
        expectRelL2(inCluster, await host(expected), 1e-2, `decode kv=${c.kvLens} Hq=${c.Hq} in a cluster, splits of ${splitKeys}+ keys`);
      }
    }
  });

  test("a decode captured with the cluster's merge replays at other KV lengths as an eager one", async () => {
    const backend = cuda().backend as CudaBackend;
    const c: DecodeCase = { kvLens: [5, 77, 300], Hq: 16, Hk: 2, D: 128, launchKvLen: 1024 };
    const run = inputs(c, c.launchKvLen);
    const [, replayed] = poisonedPair(run.outShape);
    tuneCudaKernels({ attentionDecodeTensorCores: true, attentionDecodeClusterMerge: true });
    let graph: number;
    try {
      backend.pagedAttention(replayed, run.cuda.q, run.cuda.k, run.cuda.v, run.cuda.meta, run.options); // the workspace exists before the capture
      graph = captureGraph(backend, () => backend.pagedAttention(replayed, run.cuda.q, run.cuda.k, run.cuda.v, run.cuda.meta, run.options));
    } finally {
      tuneCudaKernels({}); // the graph keeps the kernel and the clusters it captured
    }
    try {
      for (const kvLens of [[1, 31, 400], [1000, 1, 31], [400, 1024, 129]]) {
        backend.upload(run.cuda.kvLens, Int32Array.from(kvLens));
        backend.fill(replayed, NaN);
        backend.replay(graph);
        const eager = await decode(c, run, true);
        assert.deepEqual(await host(replayed), eager, `replayed decode attention in a cluster, kv=${kvLens}`);
        assert.ok(eager.every(Number.isFinite), `eager decode attention in a cluster, kv=${kvLens}: not every output written`);
      }
    } finally {
      backend.destroyGraph(graph);
    }
  });
});
