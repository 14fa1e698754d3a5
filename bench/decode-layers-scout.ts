/**
 * Where a Llama 4 Scout FP8 decode step's device time goes, kernel by kernel (issue 11: 9.54 ms a step at batch 1
 * on one H200, the floor ~4 ms). The decoder of `--model`'s config at batch B with `quantization: "fp8"`, built as
 * src/models/llama4.ts runs it (bench/scout-decoder.ts): each kernel captured once per layer that runs it in a CUDA
 * graph (every layer with its own weights and KV cache, so products stream from memory as in the model, not from L2),
 * the graph replayed between two timing marks; then the whole stack as one graph, each kernel's marginal cost in it
 * (the stack's time less the stack without that kernel, per call), and the step (embedding, rotary tables, the layers,
 * the bf16 head, cast and argmax). Per kernel: µs a call, the bytes a call must read (weights and scales; the KV
 * cache for attention) and the rate that makes. At decode sizes three sweeps of the FP8 products (and the experts):
 * 4, 8 or 16 weight loads in flight a lane on the CUDA cores and the tensor cores (`fp8StreamBatches`), the
 * activations quantized inside the product or by a quantizeFp8 kernel before it (`fp8QuantizeInProduct`, that kernel
 * counted, with the stack's µs a layer each way), and the quantizing products' dot products on the tensor cores or the
 * CUDA cores (`fp8ProductOnTensorCores`, with the stack's µs a layer each way); everything else runs with the
 * backend's defaults (`fp8QuantizeInProductDefault`, `fp8ProductOnTensorCoresDefault`). The kernels and the stack
 * are the layer with the shared expert run by its own kernels; `sharedExpertFold` times the MoE block as the model
 * calls it (kernels/moe-fp8-shared.ts) with the shared expert folded into the routed experts' products and not, and
 * the stack with that block each way; `fp8PrefetchBudgets` times the products, that block and the model's stack with
 * each budget of weights sent to L2 before the products' waits. Weights for all layers
 * when the GPU holds them (Scout: ~106 GB at batch 1), else as many distinct layers as fit, the rest reusing them
 * (said in the output). Prints JSON.
 * `--device cpu` (with a small config, e.g. ../shared/fixtures/models/tiny-llama4) runs every call eagerly between
 * host-clock marks: a check of shapes and calls, not a timing.
 *
 *   node --import tsx bench/decode-layers-scout.ts --model DIR [--batch 1] [--kv-len 600] [--context-length 131072]
 *     [--layers N] [--distinct-layers N] [--replays 20] [--device cuda]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModelConfig } from "../src/checkpoint/model-config.js";
import { FUSED_FP8_QUANTIZE } from "../src/kernels/linear-fp8.js";
import { fp8ProductOnTensorCoresInForce, tuneCudaKernels, type KernelTuning } from "../src/runtime/cuda/kernel-tuning.js";
import { getDevice } from "../src/runtime/device.js";
import { graphMicroseconds } from "./graph-timing.js";
import { runInfo } from "./run-info.js";
import { buildDecoder, layerWeightBytes, type DecodeKernel } from "./scout-decoder.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    device: { type: "string", default: "cuda" },
    batch: { type: "string", default: "1" },
    "kv-len": { type: "string", default: "600" },
    // The Scout decode run of bench/results/2026-12-03-scout-fp8-decode-b1-h200.json used this context length.
    "context-length": { type: "string", default: "131072" },
    layers: { type: "string" },
    "distinct-layers": { type: "string" },
    replays: { type: "string" },
  },
});
if (values.model === undefined) throw new Error("--model DIR is required (a Llama 4 config.json; the weights are made on the device)");
const config = loadModelConfig(join(values.model, "config.json"));
if (config.family !== "llama4") throw new Error(`${values.model} is ${config.family}, not Llama 4`);
const t = config.text;
const device = getDevice(values.device as "cpu" | "cuda");
const backend = device.backend;
const B = Number(values.batch), kvLen = Number(values["kv-len"]), contextLength = Number(values["context-length"]);
const L = Number(values.layers ?? t.numLayers), pageSize = 16;
const replays = Number(values.replays ?? (device.kind === "cpu" ? 2 : 20));
const layerIndices = Array.from({ length: L }, (_, i) => i);

// ==== memory: weights for every layer if they fit beside the KV cache, the head and a reserve ====
const GB = 1e9, L2Bytes = 50e6;
const perLayerBytes = Math.max(...layerIndices.map((i) => layerWeightBytes(t, i % t.numLayers)));
const kvBytes = L * 2 * B * Math.ceil(kvLen / pageSize) * pageSize * t.numKvHeads * t.headDim * 2;
const headBytes = t.vocabSize * t.hiddenSize * 2 + B * t.vocabSize * 6;
const reserveBytes = 4 * 2 ** 30; // workspaces, activations, graphs' blocks, the allocator's rounding
const free = backend.memoryInfo?.().freeBytes;
const fitting = free === undefined ? L : Math.floor((free - reserveBytes - kvBytes - headBytes) / perLayerBytes);
const distinct = values["distinct-layers"] !== undefined ? Number(values["distinct-layers"]) : Math.max(1, Math.min(L, fitting));
console.error(`decoder: ${L} layers, ${distinct} with weights of their own (${((distinct * perLayerBytes) / GB).toFixed(1)} GB), `
  + `KV cache ${(kvBytes / GB).toFixed(2)} GB, head ${(headBytes / GB).toFixed(2)} GB${free === undefined ? "" : `, ${(free / GB).toFixed(1)} GB free`}`);

const d = buildDecoder(device, t, { batch: B, kvLen, contextLength, layers: L, distinct, pageSize });
const time = (body: () => void, calls: number) => graphMicroseconds(backend, body, calls, replays);
const round = (n: number, digits = 2) => +n.toFixed(digits);

interface Row { kernel: string; calls: number; perCallUs: number; perStepUs: number; readBytes: number; GBps: number; marginalUs?: number }
const row = (k: DecodeKernel, calls: number, us: number, readBytes: number): Row => ({
  kernel: k.name, calls, perCallUs: round(us), perStepUs: round(us * calls, 1), readBytes: Math.round(readBytes),
  GBps: round(readBytes / us / 1e3, 0),
});

// ==== each kernel alone: one call per layer that runs it, one graph ====
let experts = 0;
const layerRows: Row[] = [];
for (const k of d.kernels) {
  const on = layerIndices.filter(k.on);
  // The routed experts a call reads: where the router's logits (its own graph's last output) send this batch.
  if (k.name === "moeTop1SigmoidFp8") experts = await d.expertsRouted();
  // A quantizing kernel where the products quantize inside (the backend's choice) runs nowhere: a row of 0 calls.
  const us = on.length === 0 ? 0 : await time(() => on.forEach(k.run), on.length);
  layerRows.push(row(k, on.length, us, on.length === 0 ? 0 : on.reduce((n, i) => n + k.bytes(i, experts), 0) / on.length));
}
// The FP8 products with 4, 8 or 16 weight loads in flight per lane (forced; one token a pass only) on the CUDA cores
// and on the tensor cores (where the products quantize inside: the backend's default), µs a call.
const streamBatches: Record<string, number | boolean>[] = [];
if (B === 1 && device.kind === "cuda") {
  const products = d.kernels.filter((k) => k.name.includes("linearFp8") || k.name === "moeTop1SigmoidFp8");
  for (const tensorCores of [false, true]) {
    for (const fp8StreamBatch of [4, 8, 16]) {
      tuneCudaKernels({ fp8StreamBatch, fp8ProductOnTensorCores: tensorCores });
      const byProduct: Record<string, number | boolean> = { tensorCores, batch: fp8StreamBatch };
      for (const k of products) {
        const on = layerIndices.filter(k.on);
        byProduct[k.name] = round(await time(() => on.forEach(k.run), on.length));
      }
      streamBatches.push(byProduct);
    }
  }
  tuneCudaKernels({});
}
// Decode attention (40 q heads on 8 KV heads: five a block) with one lane a key or four, forced, on the decode kernel;
// then on the decode kernel for the tensor cores (attention_decode_mma.cu), forced.
const attentionLanesPerKey: { lanes: number; perCallUs: number }[] = [];
let attentionOnDecodeTensorCoresUs: number | undefined;
const attention = d.kernels.find((k) => k.name === "pagedAttention");
if (device.kind === "cuda" && attention !== undefined) {
  const on = layerIndices.filter(attention.on);
  for (const lanes of [1, 4]) {
    tuneCudaKernels({ attentionLanesPerKey: lanes, attentionDecodeMma: false, attentionDecodeTensorCores: false });
    attentionLanesPerKey.push({ lanes, perCallUs: round(await time(() => on.forEach(attention.run), on.length)) });
  }
  tuneCudaKernels({ attentionDecodeTensorCores: true });
  attentionOnDecodeTensorCoresUs = round(await time(() => on.forEach(attention.run), on.length));
  tuneCudaKernels({});
}
// The FP8 products and the experts with their input quantized inside the product and by a quantizeFp8 kernel before
// it (forced both ways; decode sizes only), µs a call, the quantizing kernel counted with its product; and the layers'
// stack each way, µs a layer.
const layerStack = (skip = -1) => () => layerIndices.forEach((i) => d.kernels.forEach((k, j) => { if (j !== skip && k.on(i)) k.run(i); }));
// The layers as the model runs them: the shared expert's MoE block as one call (folded where the backend folds it).
const foldedStack = () => layerIndices.forEach((i) => d.foldedKernels.forEach((k) => { if (k.on(i)) k.run(i); }));
const quantizeInProduct: Record<string, number | boolean>[] = [];
const fp8QuantizeInProductDefault = backend.fp8QuantizeInProduct ?? true;
if (B <= FUSED_FP8_QUANTIZE.maxRows && device.kind === "cuda") {
  const products = d.kernels.filter((k) => k.quantize !== undefined || k.name === "moeTop1SigmoidFp8");
  for (const inside of [true, false]) {
    tuneCudaKernels({ fp8QuantizeInProduct: inside });
    const byProduct: Record<string, number | boolean> = { inside };
    for (const k of products) {
      const on = layerIndices.filter(k.on);
      byProduct[k.name] = round(await time(() => on.forEach((i) => {
        if (k.quantize?.on(i)) k.quantize.run(i);
        k.run(i);
      }), on.length));
    }
    byProduct.perLayerUs = round(await time(layerStack(), L));
    quantizeInProduct.push(byProduct);
  }
  tuneCudaKernels({});
}
// The FP8 products (quantizing inside, forced) and the experts with their dot products on the tensor cores and on the
// CUDA cores (forced both ways; decode sizes only), µs a call, and the layers' stack each way, µs a layer.
const productOnTensorCores: Record<string, number | boolean>[] = [];
const fp8ProductOnTensorCoresDefault = device.kind === "cuda" && fp8ProductOnTensorCoresInForce();
if (B <= FUSED_FP8_QUANTIZE.maxRows && device.kind === "cuda") {
  const products = d.kernels.filter((k) => k.quantize !== undefined || k.name === "moeTop1SigmoidFp8");
  for (const tensorCores of [false, true]) {
    tuneCudaKernels({ fp8QuantizeInProduct: true, fp8ProductOnTensorCores: tensorCores });
    const byProduct: Record<string, number | boolean> = { tensorCores };
    for (const k of products) {
      const on = layerIndices.filter(k.on);
      byProduct[k.name] = round(await time(() => on.forEach(k.run), on.length));
    }
    byProduct.perLayerUs = round(await time(layerStack(), L));
    productOnTensorCores.push(byProduct);
  }
  tuneCudaKernels({});
}
// Llama 4's shared expert folded into the routed experts' two FP8 products (true) or run by its own kernels (false),
// forced both ways: the MoE block as the model calls it (kernels/moe-fp8-shared.ts: router excluded), µs a call, the
// bytes it reads and their rate, and the layers' stack with that block, µs a layer.
const sharedExpertFold: Record<string, number | boolean>[] = [];
const moeBlock = d.moeWithShared;
if (device.kind === "cuda" && moeBlock !== undefined) {
  const on = layerIndices.filter(moeBlock.on);
  const bytes = on.reduce((n, i) => n + moeBlock.bytes(i, experts), 0) / on.length;
  for (const fold of [true, false]) {
    tuneCudaKernels({ fp8MoeSharedFold: fold });
    const us = await time(() => on.forEach(moeBlock.run), on.length);
    const perLayerUs = await time(foldedStack, L);
    sharedExpertFold.push({ fold, moeBlockUs: round(us), readBytes: Math.round(bytes), GBps: round(bytes / us / 1e3, 0), perLayerUs: round(perLayerUs) });
  }
  tuneCudaKernels({});
}
// The quantizing products alone, the MoE block as the model calls it and the model's stack (the shared expert folded),
// under `tuning` (the backend's rules restored after), labelled.
async function underTuning(tuning: KernelTuning, labels: Record<string, number | boolean | string>): Promise<Record<string, number | boolean | string>> {
  tuneCudaKernels(tuning);
  try {
    const byProduct = { ...labels };
    for (const k of d.kernels.filter((k) => k.quantize !== undefined || k.name === "moeTop1SigmoidFp8")) {
      const on = layerIndices.filter(k.on);
      byProduct[k.name] = round(await time(() => on.forEach(k.run), on.length));
    }
    if (moeBlock !== undefined) {
      const on = layerIndices.filter(moeBlock.on);
      byProduct.moeBlockUs = round(await time(() => on.forEach(moeBlock.run), on.length));
    }
    byProduct.perLayerUs = round(await time(foldedStack, L));
    return byProduct;
  } finally {
    tuneCudaKernels({});
  }
}
// The weights the quantizing FP8 products send to L2 before their wait (fp8PrefetchBudget, MB a call: 0 only each
// warp's first loads), with the products' streaming by the rule and all on the tensor cores (whose 5,120-row products
// lost for too few loads in flight from memory, which weights already in L2 may change): the products alone (the kernel
// ahead of each is the same product, so little overlaps), the MoE block as the model calls it, and the stack as the
// model runs it (the shared expert folded), µs a layer, where attention, the norms and the routing are ahead.
const prefetchBudgets: Record<string, number | boolean | string>[] = [];
if (B <= FUSED_FP8_QUANTIZE.maxRows && device.kind === "cuda") {
  for (const fp8ProductOnTensorCores of [undefined, true]) {
    for (const fp8PrefetchBudget of [0, 4, 8, 12, 16, 24]) {
      prefetchBudgets.push(await underTuning({ fp8ProductOnTensorCores, fp8PrefetchBudget },
        { tensorCores: fp8ProductOnTensorCores ?? "rule", budgetMB: fp8PrefetchBudget }));
    }
  }
}
// The tensor-core products' weights by bulk copies into shared memory, a 16-row tile a block (fp8BulkRows true:
// native/cuda/include/fp8_stream_bulk.cuh; the paired downs stay on registers) or streamed through registers (false),
// forced both ways with the products on the tensor cores by the rule: the products alone, the MoE block, the stack.
const bulkRows: Record<string, number | boolean | string>[] = [];
if (B <= FUSED_FP8_QUANTIZE.maxRows && device.kind === "cuda") {
  for (const fp8BulkRows of [false, true]) bulkRows.push(await underTuning({ fp8BulkRows }, { bulkRows: fp8BulkRows }));
}
// Once-a-step kernels: eight calls a graph.
const stepRow = async (k: DecodeKernel) => row(k, 1, await time(() => { for (let i = 0; i < 8; i++) k.run(0); }, 8), k.bytes(0, experts));
const preRows: Row[] = [], postRows: Row[] = [];
for (const k of d.pre) preRows.push(await stepRow(k));
for (const k of d.post) postRows.push(await stepRow(k));

// ==== the stack as one graph (FP8 quantization as the backend's default chooses), each kernel's cost inside it, the step ====
const layer = (i: number, skip = -1) => d.kernels.forEach((k, j) => { if (j !== skip && k.on(i)) k.run(i); });
const stackUs = await time(layerStack(), 1);
// The stack less one kernel (its consumers then read a stale input, which changes no timing), per call of it. Overlap
// with the kernels around it (dependent launches' prologues, bandwidth left idle by a latency-bound kernel) shows as
// a cost below the kernel's own time.
for (let skip = 0; skip < d.kernels.length; skip++) {
  if (layerRows[skip].calls === 0) continue;
  const withoutUs = await time(layerStack(skip), 1);
  layerRows[skip].marginalUs = round((stackUs - withoutUs) / layerRows[skip].calls);
}
const stepUs = await time(() => {
  d.pre.forEach((k) => k.run(0));
  layerIndices.forEach((i) => layer(i));
  d.post.forEach((k) => k.run(0));
}, 1);

const stepBytes = (rows: Row[]) => rows.reduce((n, r) => n + r.readBytes * r.calls, 0);
const layersBytes = stepBytes(layerRows), allBytes = layersBytes + stepBytes(preRows) + stepBytes(postRows);
const copyRate = 4240e9; // the copy rate bench/kernels-cuda.ts measures on the H200
const sum = (rows: Row[]) => rows.reduce((n, r) => n + r.perStepUs, 0);
const lmHead = postRows.find((r) => r.kernel.startsWith("lm head"))!;
console.log(JSON.stringify({
  benchmark: "decode-layers-scout", ...runInfo(import.meta.url), device: backend.description ?? device.kind,
  model: values.model, quantization: "fp8", batch: B, kvLen, contextLength, layers: L, distinctLayers: distinct,
  ...(distinct < L && {
    memoryNote: `layer i uses the weights of layer i % ${distinct} (${values["distinct-layers"] !== undefined ? "--distinct-layers" : `all ${L} do not fit beside the KV cache`}): ${distinct} layers' `
      + `weights are ${((distinct * perLayerBytes) / GB).toFixed(1)} GB, ${Math.round((distinct * perLayerBytes) / L2Bytes)} times the 50 MB L2`,
  }),
  expertsReadPerMoeCall: experts,
  kernels: layerRows,
  fp8StreamBatches: streamBatches,
  attentionLanesPerKey,
  attentionOnDecodeTensorCoresUs,
  // The kernels above and the stack below with the FP8 quantization inside the products (true) or a kernel before.
  fp8QuantizeInProductDefault,
  fp8QuantizeInProduct: quantizeInProduct,
  // The same with the quantizing products' dot products on the tensor cores (true) or the CUDA cores.
  fp8ProductOnTensorCoresDefault,
  fp8ProductOnTensorCores: productOnTensorCores,
  // The MoE block and the stack with the shared expert folded into the routed experts' products (true) or not.
  sharedExpertFold,
  // The products, the MoE block and the model's stack with each L2 prefetch budget before the wait, both streamings.
  fp8PrefetchBudgets: prefetchBudgets,
  // The products, the MoE block and the model's stack with the tensor-core products by bulk copies (true) or not.
  fp8BulkRows: bulkRows,
  step: [...preRows, ...postRows],
  sumOfLayerKernelsUs: round(sum(layerRows), 1),
  layersGraphUs: round(stackUs, 1),
  perLayerUs: round(stackUs / L),
  lmHeadUs: lmHead.perCallUs,
  stepGraphUs: round(stepUs, 1),
  tokensPerSAtStepGraph: round((B * 1e6) / stepUs, 1),
  // The floor: every byte a step must read (weights, the experts routed, the KV cache, the head) once at the copy rate.
  layersReadGB: round(layersBytes / GB, 3),
  stepReadGB: round(allBytes / GB, 3),
  floorUsAt4240GBps: round((allBytes / copyRate) * 1e6, 1),
  achievedGBps: round(allBytes / stepUs / 1e3, 0),
}, null, 2));
