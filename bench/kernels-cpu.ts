/**
 * Microbenchmark of the cpu backend's hot kernels: prints JSON with GFLOP/s of linear at a few shapes, GB/s of
 * rmsNorm, and one vision attention and one paged decode step. The TypeScript kernels are single-threaded; linear runs
 * the native addon when it is built (`linearImplementation` says which; bench/gemm-cpu.ts compares both).
 * Run: node --import tsx bench/kernels-cpu.ts
 */
import { cpus, loadavg } from "node:os";
import { attention } from "../src/kernels/attention.js";
import { linear } from "../src/kernels/linear.js";
import { pagedAttention } from "../src/kernels/paged-attention.js";
import { rmsNorm } from "../src/kernels/rms-norm.js";
import { linearImplementation } from "../src/runtime/cpu/matmul.js";
import { empty, fromHost } from "../src/runtime/creation.js";
import { cpuDevice } from "../src/runtime/device.js";
import { nativeCpuStatus } from "../src/runtime/native.js";
import type { Tensor } from "../src/runtime/tensor.js";
import { time } from "./timing.js";

const device = cpuDevice();

function random(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.random() - 0.5;
  return fromHost(device, data, { shape });
}

// [T, K, N]: T tokens times a weight [N, K]. 64x1176x64: Qwen's patch embedding on a small tile of rows;
// 1x4096x4096: one decode token through a square projection; the others: prefill-sized projections.
const LINEAR_SHAPES: [number, number, number][] = [[64, 1176, 64], [1, 4096, 4096], [128, 1280, 1280], [512, 1024, 1024], [4, 2048, 2048]];
const linearResults = LINEAR_SHAPES.map(([T, K, N]) => {
  const x = random([T, K]), w = random([N, K]), out = empty(device, [T, N]);
  const { wall, cpu } = time(() => linear(x, w, null, out));
  const flops = 2 * T * K * N;
  return { T, K, N, ms: +(wall * 1e3).toFixed(3), gflops: +(flops / wall / 1e9).toFixed(2), gflopsCpuTime: +(flops / cpu / 1e9).toFixed(2) };
});

const NORM_SHAPES: [number, number][] = [[1, 4096], [256, 2048], [1024, 5120]];
const normResults = NORM_SHAPES.map(([T, H]) => {
  const x = random([T, H]), w = random([H]), out = empty(device, [T, H]);
  const { wall, cpu } = time(() => rmsNorm(x, w, 1e-6, out));
  // Bytes moved: x read, out written (the weight stays in cache).
  const bytes = 2 * T * H * 4;
  return { T, H, ms: +(wall * 1e3).toFixed(4), gbps: +(bytes / wall / 1e9).toFixed(2), gbpsCpuTime: +(bytes / cpu / 1e9).toFixed(2) };
});

// Qwen2.5-VL's vision full-attention layer over one 448x448 image: 1024 patches, 16 heads of 80.
const vision = (() => {
  const T = 1024, H = 16, D = 80;
  const q = random([T, H, D]), k = random([T, H, D]), v = random([T, H, D]), out = empty(device, [T, H, D]);
  const segments = { cuSeqlens: fromHost(device, new Int32Array([0, T])), maxSeqLen: T };
  const { wall, cpu } = time(() => attention(q, k, v, segments, { scale: D ** -0.5, causal: false }, out), 2);
  const flops = 4 * T * T * D * H;
  return { T, heads: H, D, ms: +(wall * 1e3).toFixed(1), gflops: +(flops / wall / 1e9).toFixed(2), gflopsCpuTime: +(flops / cpu / 1e9).toFixed(2) };
})();

// One decode step of 8 sequences of 2048 keys with Qwen2.5-VL-7B's heads (28 q, 4 kv, 128), pages of 16.
const decode = (() => {
  const B = 8, L = 2048, Hq = 28, Hk = 4, D = 128, pageSize = 16, pagesPerSeq = L / pageSize;
  const kCache = random([B * L, Hk, D]), vCache = random([B * L, Hk, D]);
  const meta = {
    queryStart: fromHost(device, Int32Array.from({ length: B + 1 }, (_, i) => i)), kvLens: fromHost(device, new Int32Array(B).fill(L)),
    pageTable: fromHost(device, Int32Array.from({ length: B * pagesPerSeq }, (_, i) => i), { shape: [B, pagesPerSeq] }),
    pageSize, maxQueryLen: 1, maxKvLen: L,
  };
  const q = random([B, Hq, D]), out = empty(device, [B, Hq, D]);
  const { wall, cpu } = time(() => pagedAttention(q, kCache, vCache, meta, { scale: D ** -0.5 }, out));
  const bytes = 2 * B * L * Hk * D * 4; // the K and V read once
  return { sequences: B, kvLen: L, qHeads: Hq, kvHeads: Hk, D, ms: +(wall * 1e3).toFixed(2), kvGBps: +(bytes / wall / 1e9).toFixed(2),
    kvGBpsCpuTime: +(bytes / cpu / 1e9).toFixed(2) };
})();

console.log(JSON.stringify({
  benchmark: "kernels-cpu",
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  // The TypeScript kernels run on one thread; the native linear on `info().threads`.
  threads: { typescript: 1, linear: linearImplementation === "native" ? nativeCpuStatus().addon!.info().threads : 1 },
  linearImplementation,
  native: nativeCpuStatus().reason,
  loadAverage: loadavg().map((v) => +v.toFixed(2)),
  linear: linearResults,
  rmsNorm: normResults,
  visionAttention: vision,
  pagedDecode: decode,
}, null, 2));
