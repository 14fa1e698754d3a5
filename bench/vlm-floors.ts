/**
 * The arithmetic and the memory traffic of issue 10's workload, from the model's shape alone, and the floor they put
 * under each phase on a device with a given matrix rate and copy bandwidth: vision and prefill are bound by their
 * FLOPs over the matrix rate, decode by the bytes each step must read (all weights once, every sequence's K and V)
 * over the bandwidth, or by its FLOPs where those take longer (a large decode batch). Bias adds, norms, rotary and
 * softmax are left out: under 1% of either count at the 3B shape.
 */
import type { Qwen2_5_VLConfig } from "../src/checkpoint/qwen2-5-vl-config.js";
import { visionLayout, type ImageGrid } from "../src/models/qwen2-5-vl-vision-layout.js";

/**
 * The device ceilings measured on one H200 by bench/kernels-cuda.ts (bench/results/cuda-kernels.md): the
 * device-to-device copy (bytes read + written) and cuBLASLt's bf16 8192^3 product.
 */
export const H200_MEASURED = { copyBytesPerS: 4253e9, matrixFlopPerS: 772e12 } as const;

export interface Ceilings {
  readonly copyBytesPerS: number;
  readonly matrixFlopPerS: number;
}

/** Sum of squared segment lengths of cumulative offsets: the attention score count of those segments. */
function squaredSegments(cu: Int32Array): number {
  let sum = 0;
  for (let i = 1; i < cu.length; i++) sum += (cu[i] - cu[i - 1]) ** 2;
  return sum;
}

/** FLOPs of the vision tower on one image of `grid` patches: patch embedding, blocks, merger. */
export function visionFlops(config: Qwen2_5_VLConfig, grid: ImageGrid): number {
  const v = config.vision;
  const D = v.hiddenSize, N = grid.t * grid.h * grid.w, unit = v.spatialMergeSize ** 2;
  const layout = visionLayout([grid], v.spatialMergeSize, v.windowSize / v.spatialMergeSize / v.patchSize);
  const patchEmbed = 2 * N * (v.inChannels * v.temporalPatchSize * v.patchSize ** 2) * D;
  // Per block: q|k|v and the output projection (4 D^2), the gated MLP (3 D I); attention: QK^T and AV (4 D per pair).
  const linear = 2 * N * (4 * D * D + 3 * D * v.intermediateSize);
  const full = v.fullAttentionBlocks.length;
  const attention = 4 * D * ((v.depth - full) * squaredSegments(layout.cuWindowSeqlens) + full * squaredSegments(layout.cuSeqlens));
  const merged = N / unit, M = D * unit;
  const merger = 2 * merged * (M * M + M * v.outHiddenSize);
  return patchEmbed + v.depth * linear + attention + merger;
}

/** Parameters of the text decoder that every token multiplies through (the output head counted apart). */
function decoderParams(config: Qwen2_5_VLConfig): { layers: number; head: number } {
  const t = config.text;
  const q = t.numHeads * t.headDim, kv = t.numKvHeads * t.headDim;
  const perLayer = t.hiddenSize * (q + 2 * kv) + q * t.hiddenSize + 3 * t.hiddenSize * t.intermediateSize;
  return { layers: t.numLayers * perLayer, head: t.hiddenSize * t.vocabSize };
}

/** FLOPs of prefilling one prompt of `length` tokens (causal attention) and its one output row. */
export function prefillFlops(config: Qwen2_5_VLConfig, length: number): number {
  const t = config.text;
  const { layers, head } = decoderParams(config);
  // Query p attends to p + 1 keys: 4 q-dim FLOPs per pair, sum over p about L^2 / 2 pairs.
  const attention = t.numLayers * 4 * t.numHeads * t.headDim * (length * (length + 1)) / 2;
  return 2 * length * layers + attention + 2 * head;
}

/** K and V bytes one token of context holds, over all layers, at `bytesPerValue` (2 for bf16). */
export function kvBytesPerToken(config: Qwen2_5_VLConfig, bytesPerValue = 2): number {
  const t = config.text;
  return t.numLayers * 2 * t.numKvHeads * t.headDim * bytesPerValue;
}

export interface DecodeCost {
  readonly steps: number;
  readonly bytes: number;
  readonly flops: number;
  /** The floor: per step, the larger of its bytes over the bandwidth and its FLOPs over the matrix rate. */
  readonly floorSeconds: number;
  /** Bytes over the bandwidth alone (the way of counting decode). */
  readonly bandwidthSeconds: number;
  readonly bound: "bandwidth" | "compute" | "mixed";
}

/** A decode step's cost: `B` running sequences of `context` tokens each. */
export type DecodeStepCost = (B: number, context: number) => { bytes: number; flops: number };

/**
 * Decode of `requests` sequences with prompts of `promptLength` tokens, `outputTokens` each (the first one comes
 * from prefill), at most `batch` at once, in waves, each step costing what `step` says; its floor is the larger of
 * the step's bytes over the bandwidth and its FLOPs over the matrix rate. Both families' floors go through it.
 */
export function decodeWaves(requests: number, promptLength: number, outputTokens: number, batch: number,
  step: DecodeStepCost, ceilings: Ceilings): DecodeCost {
  let steps = 0, bytes = 0, flops = 0, floor = 0, computeSteps = 0;
  for (let left = requests; left > 0; left -= batch) {
    const B = Math.min(batch, left);
    for (let k = 1; k < outputTokens; k++) {
      const { bytes: stepBytes, flops: stepFlops } = step(B, promptLength + k);
      const byBytes = stepBytes / ceilings.copyBytesPerS, byFlops = stepFlops / ceilings.matrixFlopPerS;
      steps++;
      bytes += stepBytes;
      flops += stepFlops;
      floor += Math.max(byBytes, byFlops);
      if (byFlops > byBytes) computeSteps++;
    }
  }
  const bound = computeSteps === 0 ? "bandwidth" : computeSteps === steps ? "compute" : "mixed";
  return { steps, bytes, flops, floorSeconds: floor, bandwidthSeconds: bytes / ceilings.copyBytesPerS, bound };
}

/**
 * Qwen2.5-VL's decode: each step reads the weights once (bf16) and each running sequence's K and V, and multiplies
 * each running row through the weights.
 */
export function decodeCost(config: Qwen2_5_VLConfig, requests: number, promptLength: number, outputTokens: number,
  batch: number, ceilings: Ceilings): DecodeCost {
  const t = config.text, { layers, head } = decoderParams(config);
  const weightBytes = 2 * (layers + head), perRowFlops = 2 * (layers + head);
  const kvPerToken = kvBytesPerToken(config);
  return decodeWaves(requests, promptLength, outputTokens, batch, (B, context) => ({
    bytes: weightBytes + B * context * kvPerToken,
    flops: B * perRowFlops + B * 4 * t.numLayers * t.numHeads * t.headDim * context,
  }), ceilings);
}

export interface WorkloadFloor {
  readonly visionFlops: number;
  readonly prefillFlops: number;
  readonly decode: DecodeCost;
  readonly seconds: { vision: number; prefill: number; decode: number; total: number };
  readonly outputTokensPerS: number;
}

/** The floor of `requests` requests, each with one picture of `grid` patches, `promptLength` tokens and `outputTokens`. */
export function workloadFloor(config: Qwen2_5_VLConfig, spec: { requests: number; grid: ImageGrid; promptLength: number;
  outputTokens: number; decodeBatch: number; imagesEncoded?: number; prefillTokens?: number }, ceilings: Ceilings): WorkloadFloor {
  const images = spec.imagesEncoded ?? spec.requests;
  const vision = images * visionFlops(config, spec.grid);
  // With the prefix cache, fewer prompt tokens are computed; attention is then approximated per full prompt.
  const prefillPerRequest = prefillFlops(config, spec.promptLength);
  const prefill = spec.prefillTokens === undefined ? spec.requests * prefillPerRequest
    : (spec.prefillTokens / spec.promptLength) * prefillPerRequest;
  const decode = decodeCost(config, spec.requests, spec.promptLength, spec.outputTokens, spec.decodeBatch, ceilings);
  return phaseFloors(vision, prefill, decode, spec.requests * spec.outputTokens, ceilings);
}

/** The phases' floors and the workload's from its vision and prefill FLOPs and its decode cost (both families). */
export function phaseFloors(vision: number, prefill: number, decode: DecodeCost, outputTokens: number, ceilings: Ceilings): WorkloadFloor {
  const seconds = { vision: vision / ceilings.matrixFlopPerS, prefill: prefill / ceilings.matrixFlopPerS, decode: decode.floorSeconds, total: 0 };
  seconds.total = seconds.vision + seconds.prefill + seconds.decode;
  return { visionFlops: vision, prefillFlops: prefill, decode, seconds, outputTokensPerS: outputTokens / seconds.total };
}
