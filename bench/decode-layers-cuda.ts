/**
 * Where a decode step's device time goes, kernel by kernel, as the replayed graph runs them: the kernels of
 * Qwen2.5-VL-3B's decoder at batch B (default 1), each captured 36 times in a CUDA graph (one call per layer, each
 * layer with its own weights, so a product streams its weights from memory as in the model, not from L2) and the
 * graph replayed between two timing marks; then the whole 36-layer stack captured as one graph, to compare with
 * the sum of its kernels (what the gaps between graph nodes cost), and each kernel's marginal cost in that graph (the
 * graph's time less the graph without it). Prints JSON.
 *
 *   node --import tsx bench/decode-layers-cuda.ts [--batch 1] [--kv-len 400] [--context-length 4096]
 */
import { parseArgs } from "node:util";
import type { PagedAttentionMeta } from "../src/runtime/backend.js";
import { empty, fromHost } from "../src/runtime/creation.js";
import type { CudaBackend } from "../src/runtime/cuda/cuda-backend.js";
import { tuneCudaKernels } from "../src/runtime/cuda/kernel-tuning.js";
import { getDevice } from "../src/runtime/device.js";
import { deviceRandom } from "./device-random.js";
import { graphMicroseconds as timeGraph } from "./graph-timing.js";
import { runInfo } from "./run-info.js";

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "1" },
    "kv-len": { type: "string", default: "400" },
    "context-length": { type: "string", default: "4096" },
  },
});
const B = Number(values.batch), kvLen = Number(values["kv-len"]), contextLength = Number(values["context-length"]);
const device = getDevice("cuda");
const backend = device.backend as CudaBackend;

// Qwen2.5-VL-3B's decoder (../shared/fixtures/models/qwen2_5-vl-3b-shape).
const L = 36, H = 2048, Hq = 16, Hk = 2, D = 128, I = 11008, V = 151_936, pageSize = 16;
const QKV = (Hq + 2 * Hk) * D;

const random = deviceRandom(device, { dtype: "BF16", low: -0.05, high: 0.05 });
const ints = (v: number[], shape = [v.length]) => fromHost(device, Int32Array.from(v), { shape, dtype: "I32" });

const layers = Array.from({ length: L }, () => ({
  qkvW: random([QKV, H]), qkvB: random([QKV]), oW: random([H, Hq * D]), guW: random([2 * I, H]), downW: random([H, I]),
  norm1: random([H], "BF16", 0.5, 1.5), norm2: random([H], "BF16", 0.5, 1.5),
  kc: random([B * Math.ceil(kvLen / pageSize) * pageSize, Hk, D], "BF16", -1, 1),
  vc: random([B * Math.ceil(kvLen / pageSize) * pageSize, Hk, D], "BF16", -1, 1),
}));
const lmHead = random([V, H]);
const pages = Math.ceil(kvLen / pageSize), tableWidth = Math.ceil(contextLength / pageSize);
const meta: PagedAttentionMeta = {
  queryStart: ints(Array.from({ length: B + 1 }, (_, i) => i)),
  kvLens: ints(new Array(B).fill(kvLen)),
  pageTable: ints(Array.from({ length: B * tableWidth }, (_, i) => (i % tableWidth < pages ? Math.floor(i / tableWidth) * pages + (i % tableWidth) : -1)), [B, tableWidth]),
  pageSize,
  maxQueryLen: 1,
  // As the engine launches decode: for the longest context, so one graph serves every length.
  maxKvLen: contextLength,
};
// This step's token of each sequence is its last key.
const slots = ints(Array.from({ length: B }, (_, s) => s * pages * pageSize + kvLen - 1));
const h = random([B, H], "BF16", -1, 1), x = random([B, H], "BF16", -1, 1);
const qkv = random([B, QKV]), q = empty(device, [B, Hq, D]), attended = empty(device, [B, Hq, D]);
const o = empty(device, [B, H]), gateUp = empty(device, [B, 2 * I]), act = empty(device, [B, I]), down = empty(device, [B, H]);
const cos = random([B, D / 2], "F32", -1, 1), sin = random([B, D / 2], "F32", -1, 1);
const logits = empty(device, [B, V]), logitsF32 = empty(device, [B, V], "F32"), tokens = empty(device, [B], "I32");

type Layer = (typeof layers)[number];
const qkvLinear = (l: Layer) => backend.linear(qkv, x, l.qkvW, l.qkvB);
const attention = (l: Layer) => backend.pagedAttention(attended, q, l.kc, l.vc, meta, { scale: D ** -0.5 });
const oLinear = (l: Layer) => backend.linear(o, attended.view([B, Hq * D]), l.oW, null);
const gateUpLinear = (l: Layer) => backend.linear(gateUp, x, l.guW, null);
const downLinear = (l: Layer) => backend.linear(down, act, l.downW, null);
// The gate|up product and its activation as the model runs them: one fused kernel where the backend has it (the
// skinny products of batch 1 and 2), else the product then siluAndMul.
const fusesGateUp = backend.linearSiluAndMul?.(act, x, layers[0].guW, null) === true;
const gateUpSiluAndMul = (l: Layer) => backend.linearSiluAndMul!(act, x, l.guW, null);
const lmHeadLinear = () => backend.linear(logits, x, lmHead, null);
const kernels: [string, (l: Layer) => void][] = [
  ["qkv linear", qkvLinear],
  ["rotaryStoreKV", (l) => backend.rotaryStoreKV(q, l.kc, l.vc, qkv, cos, sin, slots, "neox")],
  ["pagedAttention", attention],
  ["o linear", oLinear],
  ["addRmsNorm", (l) => backend.addRmsNorm(x, h, o, l.norm1, 1e-6)],
  ...(fusesGateUp
    ? [["gate|up linear + siluAndMul (fused)", gateUpSiluAndMul] as [string, (l: Layer) => void]]
    : [["gate|up linear", gateUpLinear], ["siluAndMul", () => backend.siluAndMul(act, gateUp)]] as [string, (l: Layer) => void][]),
  ["down linear", downLinear],
  ["addRmsNorm", (l) => backend.addRmsNorm(x, h, down, l.norm2, 1e-6)],
];
// The head as a greedy step without logprobs runs it (src/runner/sampler.ts): argmax on the bf16 logits, no F32 copy.
const head: [string, () => void][] = [
  ["lm head linear", lmHeadLinear],
  ["argmax (bf16 logits)", () => backend.argmax(tokens, logits)],
];

const graphMicroseconds = (body: () => void, calls: number, replays = 20) => timeGraph(backend, body, calls, replays);
/** µs of one call of a layer kernel, captured once per layer (each with its own weights). */
const perLayerCall = (kernel: (l: Layer) => void) => graphMicroseconds(() => layers.forEach(kernel), L);
/** µs of one call of a once-a-step kernel, captured 8 times. */
const perHeadCall = (kernel: () => void) => graphMicroseconds(() => { for (let i = 0; i < 8; i++) kernel(); }, 8);
const rounded = (us: number) => +us.toFixed(2);

const rows: { kernel: string; perCallUs: number; perStepUs: number }[] = [];
for (const [name, kernel] of kernels) {
  const us = await perLayerCall(kernel);
  rows.push({ kernel: name, perCallUs: us, perStepUs: us * L });
}
for (const [name, kernel] of head) {
  const us = await perHeadCall(kernel);
  rows.push({ kernel: name, perCallUs: us, perStepUs: us });
}
// What splitting the keys buys the attention kernel at this batch (0: the kernel's own choice).
const attentionSplits: { splits: number; perCallUs: number }[] = [];
for (const splits of [0, 1, 2, 4, 8, 16, 32]) {
  backend.attentionSplits = splits;
  attentionSplits.push({ splits, perCallUs: rounded(await perLayerCall(attention)) });
}
backend.attentionSplits = 0;
// Decode attention with a KV head's query group in one block or split over 2, 4 or 8 (0: the kernel's own choice).
const attentionParts: { parts: number; perCallUs: number }[] = [];
// Parts 1-8 forced on the CUDA-core decode kernel; 0 is the backend's rule (the tensor-core decode kernel for G >= 2).
for (const parts of [0, 1, 2, 4, 8]) {
  const onDecodeKernel = parts === 0 ? undefined : false;
  tuneCudaKernels({ attentionParts: parts, attentionDecodeMma: onDecodeKernel, attentionDecodeTensorCores: onDecodeKernel });
  attentionParts.push({ parts, perCallUs: rounded(await perLayerCall(attention)) });
}
// Decode attention with one lane a key (a lane scores a key's whole row) or four (a quarter each), forced, on the
// decode kernel with its own blocks a group; then four lanes with the group in one block and split over two.
const attentionLanesPerKey: { lanes: number; perCallUs: number }[] = [];
for (const lanes of [1, 4]) {
  tuneCudaKernels({ attentionLanesPerKey: lanes, attentionDecodeMma: false, attentionDecodeTensorCores: false });
  attentionLanesPerKey.push({ lanes, perCallUs: rounded(await perLayerCall(attention)) });
}
const attentionPartsAtFourLanes: { parts: number; perCallUs: number }[] = [];
for (const parts of [1, 2]) {
  tuneCudaKernels({ attentionLanesPerKey: 4, attentionParts: parts, attentionDecodeMma: false, attentionDecodeTensorCores: false });
  attentionPartsAtFourLanes.push({ parts, perCallUs: rounded(await perLayerCall(attention)) });
}
// On the decode kernel and on the tensor-core (prefill) kernel (the group's q heads in M, scores and outputs from
// mma), each forced: the backend's own choice between them is the first row of attentionParts.
tuneCudaKernels({ attentionDecodeMma: false, attentionDecodeTensorCores: false });
const attentionOnDecodeKernelUs = rounded(await perLayerCall(attention));
tuneCudaKernels({ attentionDecodeMma: true, attentionDecodeTensorCores: false });
const attentionOnTensorCoresUs = rounded(await perLayerCall(attention));
// On the decode kernel for the tensor cores (attention_decode_mma.cu: keys as M rows, the group's q heads as the 8
// columns), forced: with its own splits, then by forced splits (0: its own choice).
tuneCudaKernels({ attentionDecodeTensorCores: true });
const attentionOnDecodeTensorCoresUs = rounded(await perLayerCall(attention));
const attentionDecodeTensorCoresSplits: { splits: number; perCallUs: number }[] = [];
for (const splits of [0, 1, 2, 4, 8, 16, 32]) {
  backend.attentionSplits = splits;
  attentionDecodeTensorCoresSplits.push({ splits, perCallUs: rounded(await perLayerCall(attention)) });
}
backend.attentionSplits = 0;
// Its block shapes, forced: warps a block (a split's keys shared among them) by shared stages a warp (tiles in flight
// + 1); its own choice is attentionOnDecodeTensorCoresUs (four warps of two stages while the batch's (sequence, KV
// head) pairs fit one wave of them, else a warp of three stages a pair).
const attentionDecodeTensorCoresShapes: { warps: number; stages: number; perCallUs: number }[] = [];
for (const warps of [1, 2, 4]) {
  for (const stages of [2, 3, 4]) {
    tuneCudaKernels({ attentionDecodeTensorCores: true, attentionDecodeTensorCoresWarps: warps, attentionDecodeTensorCoresStages: stages });
    attentionDecodeTensorCoresShapes.push({ warps, stages, perCallUs: rounded(await perLayerCall(attention)) });
  }
}
tuneCudaKernels({});
// The weight-streaming products by forced warps per row (0: the kernel's own choice), at batch sizes it serves.
const gemvSplits: { split: number; qkvUs: number; oUs: number; gateUpUs: number; downUs: number; lmHeadUs: number }[] = [];
if (B <= 2) {
  for (const split of [0, 1, 2, 4, 8]) {
    tuneCudaKernels({ gemvSplit: split });
    gemvSplits.push({
      split,
      qkvUs: rounded(await perLayerCall(qkvLinear)),
      oUs: rounded(await perLayerCall(oLinear)),
      gateUpUs: rounded(await perLayerCall(gateUpLinear)),
      downUs: rounded(await perLayerCall(downLinear)),
      lmHeadUs: rounded(await perHeadCall(lmHeadLinear)),
    });
  }
  tuneCudaKernels({});
}
// The greedy head's other paths, for comparison: the F32 copy and argmax on it (the path before; still the one of
// steps that sample, mask or keep logprobs), and each argmax on its scalar kernel; rotaryStoreKV on its one-value kernel.
const castToF32Us = rounded(await perHeadCall(() => backend.cast(logitsF32, logits)));
const argmaxF32Us = rounded(await perHeadCall(() => backend.argmax(tokens, logitsF32)));
tuneCudaKernels({ argmaxVec16: false });
const headPaths = {
  castToF32Us, argmaxF32Us,
  argmaxBf16ScalarUs: rounded(await perHeadCall(() => backend.argmax(tokens, logits))),
  argmaxF32ScalarUs: rounded(await perHeadCall(() => backend.argmax(tokens, logitsF32))),
};
tuneCudaKernels({ rotaryStoreKVVec16: false });
const rotaryStoreKVOneValueUs = rounded(await perLayerCall((l) => backend.rotaryStoreKV(q, l.kc, l.vc, qkv, cos, sin, slots, "neox")));
tuneCudaKernels({});
// The two kernels the fused one replaces, for comparison (each a call, as in the kernels' list without fusion).
const unfusedGateUp = fusesGateUp
  ? { gateUpUs: rounded(await perLayerCall(gateUpLinear)), siluAndMulUs: rounded(await perLayerCall(() => backend.siluAndMul(act, gateUp))) }
  : null;
// The layer as the model runs it where the products carry the norms and residual adds (batch 1 and 2: rmsNormLinear,
// linearAddResidual; src/models/qwen2-5-vl.ts): seven kernels a layer instead of eight, the final norm apart. The
// gated normed product (the post-attention norm inside gate|up too) is timed alone for comparison.
const normedProducts = B <= 2 && backend.fusesNormedProducts(h.dtype, B, H) ? await (async () => {
  const fusedKernels: [string, (l: Layer) => void][] = [
    ["qkv rmsNormLinear", (l) => backend.rmsNormLinear(qkv, h, l.norm1, 1e-6, l.qkvW, l.qkvB, false)],
    kernels[1], kernels[2],
    ["o linearAddResidual", (l) => backend.linearAddResidual(h, attended.view([B, Hq * D]), l.oW, null)],
    ["rmsNorm", (l) => backend.rmsNorm(x, h, l.norm2, 1e-6)],
    ["gate|up linear + siluAndMul (fused)", gateUpSiluAndMul],
    ["down linearAddResidual", (l) => backend.linearAddResidual(h, act, l.downW, null)],
  ];
  const perCall = [];
  for (const [kernel, k] of fusedKernels) perCall.push({ kernel, perCallUs: rounded(await perLayerCall(k)) });
  const finalNorm = () => backend.rmsNorm(x, h, layers[0].norm1, 1e-6);
  return {
    kernels: perCall,
    gatedNormedGateUpUs: rounded(await perLayerCall((l) => backend.rmsNormLinear(act, h, l.norm2, 1e-6, l.guW, null, true))),
    finalNormUs: rounded(await perHeadCall(finalNorm)),
    layersGraphUs: rounded(await graphMicroseconds(() => layers.forEach((l) => fusedKernels.forEach(([, k]) => k(l))), 1)),
    stepGraphUs: rounded(await graphMicroseconds(() => {
      layers.forEach((l) => fusedKernels.forEach(([, k]) => k(l)));
      finalNorm();
      head.forEach(([, k]) => k());
    }, 1)),
  };
})() : null;
const stackUs = await graphMicroseconds(() => layers.forEach((l) => kernels.forEach(([, k]) => k(l))), 1);
// Each kernel's cost inside the chain, as the 36-layer graph runs it: the graph's time less the same graph without
// that kernel (its input then stale, which changes no timing), per layer. Overlap with the kernels around it (the
// dependent launches' prologues, idle bandwidth while a latency-bound kernel runs) shows as a cost below the
// kernel's own time above.
const marginalUs: number[] = [];
for (let skip = 0; skip < kernels.length; skip++) {
  const withoutUs = await graphMicroseconds(() => layers.forEach((l) => kernels.forEach(([, k], i) => { if (i !== skip) k(l); })), 1);
  marginalUs.push((stackUs - withoutUs) / L);
}
const stepUs = await graphMicroseconds(() => {
  layers.forEach((l) => kernels.forEach(([, k]) => k(l)));
  head.forEach(([, k]) => k());
}, 1);
// The tensor-core decode kernel's splits merged in a cluster of their blocks, through shared memory, against the
// workspace and its arrival count (each forced; the same bits at the default split length, 128 keys), then the
// cluster's splits at least 64 and 32 keys long (more of its blocks a sequence): the kernel alone, and the 36-layer
// chain above with it, whose differences are what the merge costs inside the chain.
const clusterMerge: { clusterMerge: boolean; splitKeys: number; attentionUs: number; layersGraphUs: number }[] = [];
for (const [on, splitKeys] of [[false, 128], [true, 128], [true, 64], [true, 32]] as const) {
  tuneCudaKernels({ attentionDecodeTensorCores: true, attentionDecodeClusterMerge: on, attentionDecodeClusterSplitKeys: splitKeys });
  clusterMerge.push({
    clusterMerge: on,
    splitKeys,
    attentionUs: rounded(await perLayerCall(attention)),
    layersGraphUs: rounded(await graphMicroseconds(() => layers.forEach((l) => kernels.forEach(([, k]) => k(l))), 1)),
  });
}
tuneCudaKernels({});
const sumUs = rows.reduce((n, r) => n + r.perStepUs, 0);
const weightBytes = L * 2 * (QKV * H + H * Hq * D + 2 * I * H + H * I) + 2 * V * H;
console.log(JSON.stringify({
  benchmark: "decode-layers-cuda", ...runInfo(import.meta.url), device: backend.description, batch: B, kvLen, contextLength,
  kernels: rows.map((r, i) => ({ ...r, perCallUs: +r.perCallUs.toFixed(2), perStepUs: +r.perStepUs.toFixed(1),
    ...(i < marginalUs.length && { marginalUs: +marginalUs[i].toFixed(2) }) })),
  attentionSplits,
  attentionParts,
  attentionLanesPerKey,
  attentionPartsAtFourLanes,
  attentionOnDecodeKernelUs,
  attentionOnTensorCoresUs,
  attentionOnDecodeTensorCoresUs,
  attentionDecodeTensorCoresSplits,
  attentionDecodeTensorCoresShapes,
  clusterMerge,
  // The floor of decode attention: each sequence's K and V rows read once at ~4.24 TB/s.
  attentionFloorUs: +(((B * kvLen * Hk * D * 2 * 2) / 4240e9) * 1e6).toFixed(2),
  gemvSplits,
  unfusedGateUp,
  normedProducts,
  headPaths,
  rotaryStoreKVOneValueUs,
  sumOfKernelsUs: +sumUs.toFixed(1),
  layersGraphUs: +stackUs.toFixed(1),
  stepGraphUs: +stepUs.toFixed(1),
  // The floor: the weights read once at the copy rate this machine measures (bench/kernels-cuda.ts), ~4.24 TB/s.
  weightGB: +(weightBytes / 1e9).toFixed(3),
  floorUsAt4240GBps: +((weightBytes / 4240e9) * 1e6).toFixed(1),
}, null, 2));
