/**
 * Per-kernel microbenchmark of the cuda backend at Qwen2.5-VL-3B's shapes, printing JSON: each kernel's time and
 * its achieved GB/s (memory-bound kernels) or TFLOP/s (products, prefill attention), next to the two ceilings
 * measured in the same run: a device-to-device copy (bytes read + written) and an 8192³ bf16 matrix product.
 * Times are wall clock over many back-to-back launches ended by one stream synchronize, so a kernel shorter than
 * its launch cost (a few µs through N-API) shows that cost: which is what the step loop pays too, until graphs.
 *
 *   node --import tsx bench/kernels-cuda.ts [--quick]
 */
import { f32ToBf16 } from "../src/core/half.js";
import type { PagedAttentionMeta } from "../src/runtime/backend.js";
import { empty, fromHost } from "../src/runtime/creation.js";
import type { CudaBackend } from "../src/runtime/cuda/cuda-backend.js";
import { tuneCudaKernels } from "../src/runtime/cuda/kernel-tuning.js";
import { getDevice } from "../src/runtime/device.js";
import type { TensorDType } from "../src/runtime/dtype.js";
import type { Tensor } from "../src/runtime/tensor.js";
import { runInfo } from "./run-info.js";

const device = getDevice("cuda");
const backend = device.backend as CudaBackend;
const quick = process.argv.includes("--quick");

/** A tensor of small pseudo-random bf16 values (never zeros: a product of zeros runs faster than real data). */
function randomTensor(shape: number[], dtype: TensorDType = "BF16", scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === "F32") return fromHost(device, Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * scale), { shape, dtype });
  const bits = new Uint16Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bits[i] = f32ToBf16(((seed >>> 8) / 16777216 - 0.5) * scale);
  }
  return fromHost(device, { dtype: "BF16", shape, data: bits }, { shape, dtype: "BF16" });
}

function ints(values: number[], shape = [values.length]): Tensor {
  return fromHost(device, Int32Array.from(values), { shape, dtype: "I32" });
}

/**
 * Seconds per call: warm-up, then enough calls for ~0.3 s (at least 10), one synchronize at the end. `host` is the
 * enqueueing alone (the loop before the synchronize): when it is close to the total, the host is the bottleneck.
 */
let lastHostSeconds = 0;
async function time(fn: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) fn();
  await backend.synchronize();
  let calls = 10;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) fn();
    const enqueued = performance.now();
    await backend.synchronize();
    const seconds = (performance.now() - start) / 1000;
    if (seconds > (quick ? 0.05 : 0.3) || calls >= 100_000) {
      lastHostSeconds = (enqueued - start) / 1000 / calls;
      return seconds / calls;
    }
    calls *= 4;
  }
}

interface Row {
  kernel: string; shape: string; microseconds: number; hostMicroseconds: number; gbPerS?: number; tflopPerS?: number; ofCeiling?: number;
}
const rows: Row[] = [];
let copyCeiling = 0, gemmCeiling = 0;

async function memoryBound(kernel: string, shape: string, bytes: number, fn: () => void): Promise<void> {
  const s = await time(fn);
  const gb = bytes / s / 1e9;
  rows.push({ kernel, shape, microseconds: s * 1e6, hostMicroseconds: lastHostSeconds * 1e6, gbPerS: gb, ofCeiling: copyCeiling > 0 ? gb / copyCeiling : undefined });
}

async function computeBound(kernel: string, shape: string, flops: number, fn: () => void): Promise<void> {
  const s = await time(fn);
  const tf = flops / s / 1e12;
  rows.push({ kernel, shape, microseconds: s * 1e6, hostMicroseconds: lastHostSeconds * 1e6, tflopPerS: tf, ofCeiling: gemmCeiling > 0 ? tf / gemmCeiling : undefined });
}

// ==== ceilings ====
{
  const n = 1 << 29; // 1 GiB of bf16
  const a = empty(device, [n]), b = empty(device, [n]);
  backend.fill(a, 1);
  await memoryBound("copy (ceiling)", "1 GiB", 2 * 2 * n, () => backend.copy(b, a));
  copyCeiling = rows[rows.length - 1].gbPerS ?? 0;
  a.dispose();
  b.dispose();
  const N = 8192;
  const x = randomTensor([N, N]), w = randomTensor([N, N]), out = empty(device, [N, N]);
  await computeBound("linear (ceiling)", "8192x8192x8192", 2 * N * N * N, () => backend.linear(out, x, w, null));
  gemmCeiling = rows[rows.length - 1].tflopPerS ?? 0;
  for (const t of [x, w, out]) t.dispose();
}

// ==== matrix products: decode (skinny, weight-bandwidth bound) and prefill ====
const H = 2048, I = 11008, V = 151_936;
for (const [T, K, N, name] of [[1, 2048, 2560, "qkv"], [1, 2048, 2 * 11008, "gate|up"], [1, 11008, 2048, "down"], [1, 2048, V, "lm head"],
  [8, 2048, 2 * 11008, "gate|up"]] as const) {
  const x = randomTensor([T, K]), w = randomTensor([N, K], "BF16", 0.05), out = empty(device, [T, N]);
  for (const gemv of [false, true]) {
    tuneCudaKernels({ gemv });
    await memoryBound(`linear ${name} (${gemv ? "gemv" : "cuBLASLt"})`, `${T}x${K}x${N}`, 2 * N * K, () => backend.linear(out, x, w, null));
  }
  tuneCudaKernels({});
  for (const t of [x, w, out]) t.dispose();
}
// The vision tower's products for 14 pictures (18,144 patches): its MLP's intermediate size 3420 is not a multiple
// of 8, so down's input rows (3420 bf16, 6,840 bytes) are not 16-byte aligned, which Hopper's TMA kernels need;
// 3424 shows what padding the intermediate size with zeros would buy.
for (const [T, K, N, name] of [[1024, 2048, 2 * 11008, "gate|up"], [1296, 1280, 3 * 1280, "vision qkv"],
  [18144, 1280, 3 * 1280, "vision qkv"], [18144, 1280, 2 * 3420, "vision gate|up"], [18144, 3420, 1280, "vision down"],
  [18144, 1280, 2 * 3424, "vision gate|up (padded)"], [18144, 3424, 1280, "vision down (padded)"]] as const) {
  const x = randomTensor([T, K]), w = randomTensor([N, K], "BF16", 0.05), out = empty(device, [T, N]);
  await computeBound(`linear ${name}`, `${T}x${K}x${N}`, 2 * T * K * N, () => backend.linear(out, x, w, null));
  for (const t of [x, w, out]) t.dispose();
}

// ==== elementwise and norms (bytes read + written) ====
{
  const T = 1024;
  const x = randomTensor([T, 2 * I]), o = empty(device, [T, I]);
  await memoryBound("siluAndMul", `${T}x${I}`, 2 * (3 * T * I), () => backend.siluAndMul(o, x));
  const h = randomTensor([T, H]), w = randomTensor([H]), r = empty(device, [T, H]);
  await memoryBound("rmsNorm", `${T}x${H}`, 2 * (2 * T * H), () => backend.rmsNorm(r, h, w, 1e-6));
  await memoryBound("add", `${T}x${H}`, 2 * (3 * T * H), () => backend.add(r, h, h));
  const one = randomTensor([1, H]), oneOut = empty(device, [1, H]);
  await memoryBound("rmsNorm (decode)", `1x${H}`, 2 * 2 * H, () => backend.rmsNorm(oneOut, one, w, 1e-6));
}

// ==== attention ====
{
  // Prefill and vision attention on the tensor-core kernel and on the scalar one (useAttentionMma(false)). FLOPs
  // count 4 D per (query, key, head) pair a mask lets through (q·k and p·v, 2 FLOPs a multiply-add each).
  const both = async (name: string, shape: string, flops: number, fn: () => void) => {
    await computeBound(`${name} (mma)`, shape, flops, fn);
    backend.useAttentionMma(false);
    await computeBound(`${name} (scalar)`, shape, flops, fn);
    backend.useAttentionMma(true);
  };
  // Vision: one 1296-token image (Qwen2.5-VL, 16 heads of 80) as the full-attention layers see it and in windows of
  // 64 as the windowed layers do; Llama 4's vision tower: 577 tokens, 16 heads of 88.
  for (const [T, heads, D, window] of [[1296, 16, 80, 0], [1296, 16, 80, 64], [577, 16, 88, 0]]) {
    const q = randomTensor([T, heads, D]), k = randomTensor([T, heads, D]), v = randomTensor([T, heads, D]);
    const out = empty(device, [T, heads, D]);
    const lengths = window > 0 ? Array.from({ length: Math.ceil(T / window) }, (_, i) => Math.min(window, T - i * window)) : [T];
    const cu = lengths.reduce((acc, n) => [...acc, acc[acc.length - 1] + n], [0]);
    const segments = { cuSeqlens: ints(cu), maxSeqLen: Math.max(...lengths) };
    const pairs = lengths.reduce((acc, n) => acc + n * n, 0);
    await both(`attention (vision${window ? `, windows of ${window}` : ""})`, `${T} tokens, ${heads}x${D}`, 4 * pairs * heads * D,
      () => backend.attention(out, q, k, v, segments, { scale: D ** -0.5, causal: false }));
  }
  // Decoder prefill: one 351-token prompt (the 512x512 picture and its template), causal, 16 q heads over 2 KV heads
  // of 128, through pages of 16.
  {
    const T = 351, Hq = 16, Hk = 2, Dh = 128, pageSize = 16, pages = Math.ceil(T / pageSize);
    const kc = randomTensor([pages * pageSize, Hk, Dh]), vc = randomTensor([pages * pageSize, Hk, Dh]);
    const meta: PagedAttentionMeta = {
      queryStart: ints([0, T]), kvLens: ints([T]), pageTable: ints(Array.from({ length: pages }, (_, i) => i), [1, pages]),
      pageSize, maxQueryLen: T, maxKvLen: T,
    };
    const qp = randomTensor([T, Hq, Dh]), op = empty(device, [T, Hq, Dh]);
    await both("pagedAttention (prefill)", `${T} tokens, ${Hq}:${Hk}x${Dh}`, 4 * (T * (T + 1) / 2) * Hq * Dh,
      () => backend.pagedAttention(op, qp, kc, vc, meta, { scale: Dh ** -0.5 }));
  }
  // Decode: B sequences of kvLen keys, 16 q heads over 2 KV heads of 128, pages of 16.
  for (const [B, kvLen] of [[1, 600], [1, 8192], [32, 1024]]) {
    const Hq = 16, Hk = 2, Dh = 128, pageSize = 16;
    const pages = Math.ceil(kvLen / pageSize);
    const kc = randomTensor([B * pages * pageSize, Hk, Dh]), vc = randomTensor([B * pages * pageSize, Hk, Dh]);
    const table = Array.from({ length: B * pages }, (_, i) => i);
    const meta: PagedAttentionMeta = {
      queryStart: ints(Array.from({ length: B + 1 }, (_, i) => i)), kvLens: ints(new Array(B).fill(kvLen)),
      pageTable: ints(table, [B, pages]), pageSize, maxQueryLen: 1, maxKvLen: kvLen,
    };
    const qd = randomTensor([B, Hq, Dh]), od = empty(device, [B, Hq, Dh]);
    // 0: the split the kernel chooses; then fixed splits, to see what splitting buys.
    for (const splits of B === 1 ? [0, 1, 8, 32] : [0, 1]) {
      backend.attentionSplits = splits;
      await memoryBound(`pagedAttention (decode${splits ? `, ${splits} splits` : ""})`, `B=${B} kv=${kvLen}`, 2 * 2 * B * kvLen * Hk * Dh,
        () => backend.pagedAttention(od, qd, kc, vc, meta, { scale: Dh ** -0.5 }));
    }
    backend.attentionSplits = 0;
  }
}

// ==== sampling ====
{
  const logits = randomTensor([1, V], "F32", 5), out = empty(device, [1], "I32");
  await memoryBound("argmax", `1x${V}`, 4 * V, () => backend.argmax(out, logits));
  const f = (v: number) => fromHost(device, Float32Array.of(v), { dtype: "F32" });
  const params = { temperature: f(0.7), topK: ints([50]), topP: f(0.9), minP: f(0), uniform: f(0.3) };
  await memoryBound("sample (flat logits)", `1x${V}`, 4 * V, () => backend.sample(out, logits, params));
  // A language model's logits: a few dozen tokens well above the rest.
  const peaked = Float32Array.from({ length: V }, (_, i) => Math.sin(i * 12.9898) * 2 + (i % 3001 === 0 ? 8 : 0));
  const peakedLogits = fromHost(device, peaked, { shape: [1, V], dtype: "F32" });
  await memoryBound("sample (peaked logits)", `1x${V}`, 4 * V, () => backend.sample(out, peakedLogits, params));
}

// ==== logprobs (bytes of the row read once; logSoftmax reads and writes, topK reads it five times) ====
for (const [R, Vl] of [[1, 202_048], [64, 151_936]]) {
  const x = randomTensor([R, Vl], "F32", 5), out = empty(device, [R, Vl], "F32");
  const values = empty(device, [R, 20], "F32"), ids = empty(device, [R, 20], "I32");
  await memoryBound("logSoftmax", `${R}x${Vl}`, 2 * 4 * R * Vl, () => backend.logSoftmax(out, x));
  await memoryBound("topK (k=20)", `${R}x${Vl}`, 4 * R * Vl, () => backend.topK(values, ids, x));
  for (const t of [x, out, values, ids]) t.dispose();
}

// ==== mixture of experts: Llama 4 Scout's routed experts (hidden 5120, intermediate 8192, 16 experts; 4 GB) ====
{
  const Hm = 5120, Im = 8192, E = 16;
  // Weights filled from one 64 MiB random tile (generating 2 billion values on the host would take minutes).
  const tile = randomTensor([1 << 25], "BF16", 0.02);
  const filled = (n: number): Tensor => {
    const t = empty(device, [n]);
    for (let at = 0; at < n; at += tile.numel) backend.copy(t.narrow(at, Math.min(tile.numel, n - at)), tile.narrow(0, Math.min(tile.numel, n - at)));
    return t;
  };
  const gateUp = filled(E * Hm * 2 * Im).view([E, Hm, 2 * Im]), down = filled(E * Im * Hm).view([E, Im, Hm]);
  const expertBytes = 2 * 3 * Hm * Im;
  for (const T of [1, 64, 1024]) {
    // Router logits whose first maximum is spread over the experts (expert t mod 16 for token t).
    const logits = Float32Array.from({ length: T * E }, (_, i) => (i % E === Math.floor(i / E) % E ? 2 : Math.sin(i)));
    const router = fromHost(device, logits, { shape: [T, E], dtype: "F32" }), routerBf16 = empty(device, [T, E]);
    backend.cast(routerBf16, router);
    const x = randomTensor([T, Hm]), out = empty(device, [T, Hm]);
    const used = Math.min(T, E);
    const run = () => backend.moeTop1Sigmoid(out, x, routerBf16, gateUp, down);
    if (T === 1024) await computeBound("moeTop1Sigmoid (Scout experts)", `T=${T} ${Hm}x${Im} E=${E}`, 2 * T * 3 * Hm * Im, run);
    else await memoryBound(`moeTop1Sigmoid (Scout experts, ${used} read)`, `T=${T} ${Hm}x${Im} E=${E}`, used * expertBytes, run);
    for (const t of [router, routerBf16, x, out]) t.dispose();
  }
  for (const t of [tile, gateUp, down]) t.dispose();
}

const info = runInfo(import.meta.url);
console.log(JSON.stringify({ ...info, gpu: backend.device, ceilings: { copyGBps: copyCeiling, bf16TFLOPs: gemmCeiling }, rows }, null, 2));
for (const r of rows) {
  const rate = r.gbPerS !== undefined ? `${r.gbPerS.toFixed(0)} GB/s` : `${r.tflopPerS?.toFixed(1)} TFLOP/s`;
  const share = r.ofCeiling !== undefined ? ` (${(100 * r.ofCeiling).toFixed(0)}%)` : "";
  console.error(`${r.kernel.padEnd(36)} ${r.shape.padEnd(20)} ${r.microseconds.toFixed(1).padStart(8)} µs ` +
    `(host ${r.hostMicroseconds.toFixed(1).padStart(5)})  ${rate}${share}`);
}
