/**
 * Llama 4's decoder at a decode step with `quantization: "fp8"`, laid out as kernels to time one by one
 * (bench/decode-layers-scout.ts). The kernel sequence is src/models/llama4.ts's, call for call, with the calls its
 * layers make (Linear -> kernels/linear-fp8.ts: the FP8 product, quantizing the activations per token itself at
 * decode sizes; QKVProjection.fused: one product; PagedSelfAttention.forwardRotated: rotaryStoreKV (rotary, QK norm or
 * temperature, the KV store), then pagedAttention; Top1SigmoidMoE:
 * the bf16 router, moeTop1SigmoidFp8, the shared expert as a GatedMLP, the two added), through the kernel wrappers
 * with their outputs given, so their shape checks run and every buffer keeps its address (graph capture).
 * Weights are made on the device as `loadFormat: "dummy"` makes FP8 weights (bytes uniform over ±448, scales
 * 1e-3 / 448; bf16 weights uniform in ±1e-3); norms uniform in [0.5, 1.5], the KV cache in ±1. Never zeros.
 */
import type { Llama4TextConfig } from "../src/checkpoint/llama4-config.js";
import { DTYPE_BYTES } from "../src/core/dtype.js";
import { E4M3_MAX } from "../src/core/fp8.js";
import { add } from "../src/kernels/add.js";
import { addRmsNorm } from "../src/kernels/add-rms-norm.js";
import { argmax } from "../src/kernels/argmax.js";
import { cast } from "../src/kernels/cast.js";
import { expectDType, expectShape } from "../src/kernels/check.js";
import { embedding } from "../src/kernels/embedding.js";
import { gatherRows } from "../src/kernels/gather-rows.js";
import { linear } from "../src/kernels/linear.js";
import { quantizesInProduct } from "../src/kernels/linear-fp8.js";
import { moeTop1SigmoidFp8 } from "../src/kernels/moe.js";
import { moeTop1SigmoidFp8WithShared } from "../src/kernels/moe-fp8-shared.js";
import { pagedAttention } from "../src/kernels/paged-attention.js";
import { quantizeFp8, type QuantizedRows } from "../src/kernels/quantize-fp8.js";
import { rmsNorm } from "../src/kernels/rms-norm.js";
import { scatterRows } from "../src/kernels/scatter-rows.js";
import { ropeCosSin } from "../src/kernels/rope-cos-sin.js";
import { siluAndMul } from "../src/kernels/silu-and-mul.js";
import { decoderInvFreq } from "../src/layers/rotary-frequencies.js";
import { attentionTemperatures } from "../src/models/llama4-temperature.js";
import type { PagedAttentionMeta } from "../src/runtime/backend.js";
import { empty, fromHost } from "../src/runtime/creation.js";
import type { Device } from "../src/runtime/device.js";
import type { TensorDType } from "../src/runtime/dtype.js";
import type { Fp8Weight } from "../src/runtime/fp8-weight.js";
import type { Tensor } from "../src/runtime/tensor.js";
import { deviceRandom } from "./device-random.js";

export interface DecodeShape {
  readonly batch: number;
  readonly kvLen: number;
  /** The launch bound of decode attention and the page table's width, as the engine sets them. */
  readonly contextLength: number;
  /** Decoder layers run; layer i takes the config's pattern (RoPE or NoPE, MoE or dense) of layer i % num_hidden_layers. */
  readonly layers: number;
  /** Layers with weights of their own; layer i uses the weights of layer i % distinct (every layer has its own KV cache). */
  readonly distinct: number;
  readonly pageSize: number;
}

export interface DecodeKernel {
  readonly name: string;
  /** Whether layer i runs it. */
  readonly on: (layer: number) => boolean;
  readonly run: (layer: number) => void;
  /**
   * Bytes one call must read from memory: weights and their scales, the KV cache for attention; activations not
   * counted. `experts`: the routed experts one call reads (moeTop1SigmoidFp8).
   */
  readonly bytes: (layer: number, experts: number) => number;
  /**
   * An FP8 product's quantizing kernel (the one before it in `kernels`), which runs only where the product does not
   * quantize its input itself (kernels/linear-fp8.ts quantizesInProduct, the backend's choice at the moment of the call).
   */
  readonly quantize?: DecodeKernel;
}

const fp8Bytes = (w: Fp8Weight) => w.data.numel + 4 * w.scale.numel;

/** Bytes of one layer's weights: what `distinct` layers of them occupy. */
export function layerWeightBytes(t: Llama4TextConfig, configLayer: number): number {
  const H = t.hiddenSize, D = t.headDim, QKV = (t.numHeads + 2 * t.numKvHeads) * D;
  const attention = QKV * H + 4 * QKV + H * t.numHeads * D + 4 * H + 2 * 2 * H;
  const I = t.expertIntermediateSize, E = t.numExperts;
  const ffn = t.isMoeLayer[configLayer]
    ? 2 * E * H + E * (3 * H * I + 4 * (2 * I + H)) + 3 * H * I + 4 * (2 * I + H)
    : 3 * H * t.mlpIntermediateSize + 4 * (2 * t.mlpIntermediateSize + H);
  return attention + ffn;
}

/** The decoder's buffers, weights and kernels on `device`; `kernels` per layer in order, `pre`/`post` once a step. */
export function buildDecoder(device: Device, t: Llama4TextConfig, s: DecodeShape) {
  const backend = device.backend, float = device.floatDType;
  const B = s.batch, H = t.hiddenSize, Hq = t.numHeads, Hk = t.numKvHeads, D = t.headDim, V = t.vocabSize;
  const E = t.numExperts, I = t.expertIntermediateSize, Im = t.mlpIntermediateSize, QKV = (Hq + 2 * Hk) * D;
  const eps = t.rmsNormEps, L = s.layers;
  const random = deviceRandom(device, { dtype: float, low: -1e-3, high: 1e-3 });
  const fp8 = (shape: number[]): Fp8Weight => {
    const data = random(shape, "F8_E4M3", -E4M3_MAX, E4M3_MAX), scale = empty(device, shape.slice(0, -1), "F32");
    backend.fill(scale, 1e-3 / E4M3_MAX);
    return { data, scale };
  };
  const ints = (v: number[], shape = [v.length]) => fromHost(device, Int32Array.from(v), { shape, dtype: "I32" });
  const config = (i: number) => i % t.numLayers;
  const isMoe = (i: number) => t.isMoeLayer[config(i)], useRope = (i: number) => t.useRope[config(i)];

  // ==== weights: `distinct` layers of them ====
  const sets = Array.from({ length: s.distinct }, (_, j) => ({
    moe: isMoe(j),
    inputNorm: random([H], float, 0.5, 1.5), postNorm: random([H], float, 0.5, 1.5),
    qkv: fp8([QKV, H]), o: fp8([H, Hq * D]),
    router: isMoe(j) ? random([E, H]) : null,
    experts: isMoe(j) ? { gateUp: fp8([E, 2 * I, H]), down: fp8([E, H, I]) } : null,
    gateUp: fp8([2 * (isMoe(j) ? I : Im), H]), down: fp8([H, isMoe(j) ? I : Im]),
  }));
  const weights = (i: number) => {
    const w = sets[i % s.distinct];
    if (w.moe !== isMoe(i)) throw new Error(`layer ${i} would take layer ${i % s.distinct}'s weights but one is MoE and one dense: choose another --distinct-layers`);
    return w;
  };
  const finalNorm = random([H], float, 0.5, 1.5);
  // The embedding reads only B rows of its table: the head's matrix ([V, H] too) serves as the table.
  const lmHead = random([V, H]);

  // ==== the KV cache (each layer its own) and the attention batch ====
  const pages = Math.ceil(s.kvLen / s.pageSize), tableWidth = Math.ceil(s.contextLength / s.pageSize);
  const caches = Array.from({ length: L }, () => ({
    k: random([B * pages * s.pageSize, Hk, D], float, -1, 1), v: random([B * pages * s.pageSize, Hk, D], float, -1, 1),
  }));
  const meta: PagedAttentionMeta = {
    queryStart: ints(Array.from({ length: B + 1 }, (_, i) => i)),
    kvLens: ints(new Array<number>(B).fill(s.kvLen)),
    pageTable: ints(Array.from({ length: B * tableWidth }, (_, i) => (i % tableWidth < pages ? Math.floor(i / tableWidth) * pages + (i % tableWidth) : -1)), [B, tableWidth]),
    pageSize: s.pageSize,
    maxQueryLen: 1,
    // As the engine launches decode: for the longest context, so one graph serves every length.
    maxKvLen: s.contextLength,
  };
  // The runner's pool of page-table rows, gathered into the step's table (its rows here are the step's sequences).
  const pagePool = empty(device, meta.pageTable.shape, "I32");
  backend.copy(pagePool, meta.pageTable);
  // This step's token of each sequence is its last key, at position kvLen - 1.
  const slots = ints(Array.from({ length: B }, (_, b) => b * pages * s.pageSize + s.kvLen - 1));
  const positions = ints(new Array<number>(B).fill(s.kvLen - 1), [B, 1]);
  const invFreq = fromHost(device, decoderInvFreq(D, t.ropeTheta, t.rope), { dtype: "F32" });
  const tunes = t.attnTemperatureTuning && t.useRope.some((rope) => !rope);
  const temperatures = attentionTemperatures(new Int32Array(B).fill(s.kvLen - 1), t.attnScale, t.floorScale);
  const queryScales = fromHost(device, temperatures, { dtype: "F32" });

  // ==== the step's buffers (fixed addresses) ====
  const act = (shape: number[], dtype: TensorDType = float) => random(shape, dtype, -1, 1);
  const h = act([B, H]), x = act([B, H]), ids = ints(new Array<number>(B).fill(1)), carried = ints(new Array<number>(B).fill(1), [B, 1]);
  const rowIndex = ints(Array.from({ length: B }, (_, b) => b)), logitRows = rowIndex;
  const cos = empty(device, [B, D / 2], "F32"), sin = empty(device, [B, D / 2], "F32");
  const qkv = act([B, QKV]), q = act([B, Hq, D]), attended = act([B, Hq, D]);
  const o = act([B, H]), routerLogits = act([B, E]), routed = act([B, H]), shared = act([B, H]), ffn = act([B, H]);
  const gateUp = act([B, 2 * I]), gated = act([B, I]), mlpGateUp = act([B, 2 * Im]), mlpGated = act([B, Im]);
  // One buffer per input width (hidden, heads x head dim, the intermediates), made before any capture.
  const quantized = new Map<number, QuantizedRows>([H, Hq * D, I, Im].map((K) => [K, { q: empty(device, [B, K], "F8_E4M3"), scale: empty(device, [B], "F32") }]));
  /** The per-token quantization of an FP8 product's input (kernels/linear-fp8.ts), into the buffer of its width. */
  const quantize = (input: Tensor) => quantizeFp8(input, { out: quantized.get(input.shape[1])! });
  /** Backend.linearFp8 as kernels/linear-fp8.ts calls it: on the float input where the product quantizes it, else on
   * what `quantize` already made. */
  const product = (out: Tensor, input: Tensor, w: Fp8Weight) => {
    const xq = quantized.get(input.shape[1])!;
    expectDType("linearFp8", "weight.data", w.data, "F8_E4M3");
    expectShape("linearFp8", "weight.data", w.data, ["N", input.shape[1]]);
    expectShape("linearFp8", "out", out, [B, w.data.shape[0]]);
    if (quantizesInProduct(backend, B, input.shape[1], input.dtype)) backend.linearFp8(out, input, null, w, null);
    else backend.linearFp8(out, xq.q, xq.scale, w, null);
  };
  /**
   * A quantizing kernel of an input width runs only where the product does not quantize inside: asked at each call,
   * so the stack follows the backend's choice as it stands (bench/decode-layers-scout.ts measures both).
   */
  const quantizing = (K: number, on: (i: number) => boolean) => (i: number) => !quantizesInProduct(backend, B, K, float) && on(i);
  const attendedRows = attended.view([B, Hq * D]);
  const logits = empty(device, [B, V]), logitsF32 = empty(device, [B, V], "F32"), tokens = ints(new Array<number>(B).fill(1));
  const normalized = act([B, H]);
  const keysSeen = (i: number) => (useRope(i) && t.attentionChunkSize !== undefined ? ((s.kvLen - 1) % t.attentionChunkSize) + 1 : s.kvLen);
  const kvBytes = (i: number) => 2 * B * keysSeen(i) * Hk * D * DTYPE_BYTES[float];

  const every = () => true, none = () => 0;
  const moe = (i: number) => isMoe(i), dense = (i: number) => !isMoe(i);
  const kernel = (name: string, on: (i: number) => boolean, run: (i: number) => void,
    bytes: (i: number, experts: number) => number = none, quantize?: DecodeKernel): DecodeKernel => ({ name, on, run, bytes, quantize });
  // An FP8 product of input width K on the layers `on`, with its quantizing kernel before it: [quantize, product].
  const fp8Product = (quantizeName: string, K: number, input: Tensor, name: string, on: (i: number) => boolean,
    out: Tensor, w: (i: number) => Fp8Weight): DecodeKernel[] => {
    const q = kernel(quantizeName, quantizing(K, on), () => quantize(input));
    return [q, kernel(name, on, (i) => product(out, input, w(i)), (i) => fp8Bytes(w(i)), q)];
  };
  const layerKernels: DecodeKernel[] = [
    ...fp8Product("quantizeFp8 x (qkv)", H, x, "qkv linearFp8", every, qkv, (i) => weights(i).qkv),
    // QKVProjection.fused then PagedSelfAttention.forwardRotated, as src/models/llama4.ts runs a layer: one kernel
    // rotates (RoPE layers) and normalizes q and k (QK norm) or scales q (NoPE layers' temperature) and stores k, v.
    kernel("rotaryStoreKV (rotary, QK norm or temperature, KV store)", every, (i) => backend.rotaryStoreKV(q, caches[i].k,
      caches[i].v, qkv, cos, sin, slots, "interleaved",
      useRope(i) ? { qkNormEps: t.useQkNorm ? eps : undefined } : { rotate: false, queryScales: tunes ? queryScales : undefined }),
    () => DTYPE_BYTES[float] * B * QKV),
    kernel("pagedAttention", every, (i) => pagedAttention(q, caches[i].k, caches[i].v, meta,
      { scale: 1 / Math.sqrt(D), chunkSize: useRope(i) ? t.attentionChunkSize : undefined }, attended), kvBytes),
    ...fp8Product("quantizeFp8 attended (o)", Hq * D, attendedRows, "o linearFp8", every, o, (i) => weights(i).o),
    kernel("addRmsNorm (post-attention)", every, (i) => addRmsNorm(h, o, weights(i).postNorm, eps, x), () => DTYPE_BYTES[float] * H),
    kernel("router linear (bf16)", moe, (i) => linear(x, weights(i).router!, null, routerLogits), () => DTYPE_BYTES[float] * E * H),
    kernel("moeTop1SigmoidFp8", moe, (i) => moeTop1SigmoidFp8(x, routerLogits, weights(i).experts!.gateUp, weights(i).experts!.down, routed),
      (i, experts) => (experts * (fp8Bytes(weights(i).experts!.gateUp) + fp8Bytes(weights(i).experts!.down))) / E),
    ...fp8Product("quantizeFp8 x (shared expert)", H, x, "shared gate|up linearFp8", moe, gateUp, (i) => weights(i).gateUp),
    kernel("shared siluAndMul", moe, () => siluAndMul(gateUp, gated)),
    ...fp8Product("quantizeFp8 (shared down)", I, gated, "shared down linearFp8", moe, shared, (i) => weights(i).down),
    kernel("add (shared + routed)", moe, () => add(shared, routed, ffn)),
    ...fp8Product("quantizeFp8 x (mlp)", H, x, "mlp gate|up linearFp8", dense, mlpGateUp, (i) => weights(i).gateUp),
    kernel("mlp siluAndMul", dense, () => siluAndMul(mlpGateUp, mlpGated)),
    ...fp8Product("quantizeFp8 (mlp down)", Im, mlpGated, "mlp down linearFp8", dense, ffn, (i) => weights(i).down),
    kernel("addRmsNorm (next input norm)", every, (i) => addRmsNorm(h, ffn, i + 1 < L ? weights(i + 1).inputNorm : finalNorm, eps, x), () => DTYPE_BYTES[float] * H),
  ];
  const runsSomewhere = (k: DecodeKernel) => Array.from({ length: L }, (_, i) => i).some(k.on);
  // The kernels some layer runs; a quantizing kernel stays with its product, whether it runs being the backend's
  // choice at each call.
  const kernels = layerKernels.filter((k) => runsSomewhere(k) || layerKernels.some((p) => p.quantize === k && runsSomewhere(p)));
  // Once a step, as src/runner/model-runner.ts runs it: the last step's tokens put in place as this step's ids (outside
  // the engine's graph), the page table gathered from the pool, the embedding, the rotary tables and the first norm;
  // after the layers the head and greedy sampling (temperature 0, as bench/decode-step.ts asks).
  const pre: DecodeKernel[] = [
    kernel("gatherRows (carried ids)", every, () => gatherRows(tokens.view([B, 1]), rowIndex, carried)),
    kernel("scatterRows (carried ids)", every, () => scatterRows(ids.view([B, 1]), rowIndex, carried)),
    kernel("gatherRows (page table)", every, () => gatherRows(pagePool, rowIndex, meta.pageTable)),
    kernel("embedding", every, () => embedding(ids, lmHead, h), () => DTYPE_BYTES[float] * B * H),
    kernel("ropeCosSin", every, () => ropeCosSin(positions, invFreq, null, { cos, sin })),
    kernel("rmsNorm (first input norm)", every, () => rmsNorm(h, weights(0).inputNorm, eps, x), () => DTYPE_BYTES[float] * H),
  ];
  const post: DecodeKernel[] = [
    kernel("gatherRows (logit rows)", every, () => gatherRows(x, logitRows, normalized)),
    kernel("lm head linear (bf16)", every, () => linear(normalized, lmHead, null, logits), () => DTYPE_BYTES[float] * V * H),
    // The sampler widens bf16 logits (the cpu's are F32 already: no cast there).
    kernel("cast to F32", every, () => cast(logits, "F32", logitsF32)),
    kernel("argmax", every, () => argmax(float === "F32" ? logits : logitsF32, tokens)),
  ].filter((k) => float !== "F32" || k.name !== "cast to F32");
  /** The distinct experts the router's logits (as they stand) send the batch to: what one moeTop1SigmoidFp8 call reads. */
  const expertsRouted = async (): Promise<number> => {
    const values = await backend.download(routerLogits);
    const chosen = new Set<number>();
    for (let b = 0; b < B; b++) {
      const row = Array.from(values.subarray(b * E, (b + 1) * E));
      chosen.add(row.indexOf(Math.max(...row)));
    }
    return chosen.size;
  };
  // The MoE block as src/layers/moe.ts runs it with FP8 experts: one call (kernels/moe-fp8-shared.ts), the shared
  // expert folded into the routed experts' two products where the backend folds it (cuda at decode: route, gate|up,
  // down), else the kernels above one by one inside the call. `foldedKernels`: the layer with that block as this call.
  const moeWithShared = kernel("moeTop1SigmoidFp8WithShared (routed + shared expert)", moe, (i) => moeTop1SigmoidFp8WithShared(x,
    routerLogits, weights(i).experts!.gateUp, weights(i).experts!.down, { gateUp: weights(i).gateUp, down: weights(i).down }, ffn),
  (i, experts) => (experts * (fp8Bytes(weights(i).experts!.gateUp) + fp8Bytes(weights(i).experts!.down))) / E
    + fp8Bytes(weights(i).gateUp) + fp8Bytes(weights(i).down));
  const first = kernels.findIndex((k) => k.name === "moeTop1SigmoidFp8");
  const last = kernels.findIndex((k) => k.name === "add (shared + routed)");
  const foldedKernels = first < 0 || last < first ? kernels : [...kernels.slice(0, first), moeWithShared, ...kernels.slice(last + 1)];
  return { kernels, foldedKernels, moeWithShared: first < 0 ? undefined : moeWithShared, pre, post, expertsRouted, tokens };
}
