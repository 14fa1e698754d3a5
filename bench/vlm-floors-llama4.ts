/**
 * The floors of issue 10's offline workload on Llama 4 (issue 11: Scout in FP8 on one H200), from the model's shape
 * alone, as bench/vlm-floors.ts has them for Qwen2.5-VL: vision and prefill by their FLOPs over the matrix rate,
 * decode by the larger of a step's bytes over the bandwidth and its FLOPs over the matrix rate. What Llama 4 changes:
 * a picture is tiles of `imageSize` (each its own 577-token encoder pass), and a decode step reads the routed experts
 * its tokens chose, not all of them: at batch 1 one expert a MoE layer, at batch 512 (one expert a token among 16)
 * all of them. With FP8 (`quantization: "fp8"`) the decoder's matrices are one byte a weight; the router, norms,
 * embeddings and the output head stay bf16. Norms, rotary and softmax are left out (under 1%). FLOPs are counted
 * against the bf16 matrix rate even where FP8 products could run faster: with FP8 the vision and prefill floors are
 * the bf16 model's.
 */
import type { Llama4Config } from "../src/checkpoint/llama4-config.js";
import { decodeWaves, phaseFloors, type Ceilings, type WorkloadFloor } from "./vlm-floors.js";

/** FLOPs of the vision tower on one tile: patch embedding, encoder layers, pixel-shuffle adapter, projector. */
export function llama4VisionFlopsPerTile(config: Llama4Config): number {
  const v = config.vision;
  const D = v.hiddenSize, side = v.imageSize / v.patchSize, patches = side * side, N = patches + 1; // + the class token
  const patchEmbed = 2 * patches * v.numChannels * v.patchSize ** 2 * D;
  // Per layer: q, k, v, o (4 D^2) and fc1, fc2 (2 D I) for every token; attention QK^T and AV over the tile (4 D N^2).
  const layers = v.numLayers * (2 * N * (4 * D * D + 2 * D * v.intermediateSize) + 4 * D * N * N);
  const merge = Math.round(1 / v.pixelShuffleRatio), shuffled = patches / (merge * merge);
  const adapter = 2 * shuffled * (D * merge * merge * v.projectorInputDim + v.projectorOutputDim ** 2);
  const projector = 2 * shuffled * v.visionOutputDim * config.text.hiddenSize;
  return patchEmbed + layers + adapter + projector;
}

/** Weights of the decoder by kind, per model (not per layer): what a token multiplies through and what a step reads. */
function decoderWeights(config: Llama4Config) {
  const t = config.text;
  const attention = t.hiddenSize * (t.numHeads + 2 * t.numKvHeads) * t.headDim + t.numHeads * t.headDim * t.hiddenSize;
  const expert = 3 * t.hiddenSize * t.expertIntermediateSize;
  const moeLayers = t.isMoeLayer.filter(Boolean).length, denseLayers = t.numLayers - moeLayers;
  return {
    /** Matrices every token uses: attention, the dense MLPs, the shared experts (FP8 where quantized). */
    always: t.numLayers * attention + denseLayers * 3 * t.hiddenSize * t.mlpIntermediateSize + moeLayers * expert,
    router: moeLayers * t.hiddenSize * t.numExperts,
    expert,
    moeLayers,
    head: t.hiddenSize * t.vocabSize,
  };
}

/** Routed experts a MoE layer reads for `tokens` tokens each choosing `k` of `E` evenly: E (1 - (1 - 1/E)^(k tokens)). */
export function expectedExpertsRead(E: number, k: number, tokens: number): number {
  return E * (1 - (1 - 1 / E) ** (k * tokens));
}

/** FLOPs of one token through the decoder's matrices (its chosen experts only) and of one row of the output head. */
function tokenFlops(config: Llama4Config): { layers: number; head: number } {
  const w = decoderWeights(config);
  return { layers: 2 * (w.always + w.router + w.moeLayers * config.text.expertsPerToken * w.expert), head: 2 * w.head };
}

/** Bytes a decode step of `batch` sequences reads: the weights it uses once, then each sequence's K and V. */
export function llama4DecodeStepBytes(config: Llama4Config, batch: number, contextTokens: number, fp8: boolean): number {
  const t = config.text, w = decoderWeights(config), weightBytes = fp8 ? 1 : 2;
  const experts = w.moeLayers * expectedExpertsRead(t.numExperts, t.expertsPerToken, batch) * w.expert;
  const kv = batch * contextTokens * t.numLayers * 2 * t.numKvHeads * t.headDim * 2;
  return weightBytes * (w.always + experts) + 2 * (w.router + w.head) + kv;
}

/** FLOPs of prefilling one prompt of `length` tokens (causal attention within Llama 4's chunks) and its output row. */
export function llama4PrefillFlops(config: Llama4Config, length: number): number {
  const t = config.text, { layers, head } = tokenFlops(config);
  const chunk = Math.min(length, t.attentionChunkSize ?? length);
  // Query p attends to at most `chunk` keys: ~L * chunk / 2 pairs where the prompt fits a chunk (this workload's do).
  const attention = t.numLayers * 4 * t.numHeads * t.headDim * (length * (chunk + 1)) / 2;
  return length * layers + attention + head;
}

export interface Llama4WorkloadSpec {
  readonly requests: number;
  /** Tiles of each request's picture (the processor's pixel_values rows: the tiles and, past one, the global one). */
  readonly tilesPerImage: number;
  readonly promptLength: number;
  readonly outputTokens: number;
  readonly decodeBatch: number;
  readonly fp8: boolean;
}

/** The floor of `requests` requests, each with one picture of `tilesPerImage` tiles. */
export function llama4WorkloadFloor(config: Llama4Config, spec: Llama4WorkloadSpec, ceilings: Ceilings): WorkloadFloor {
  const vision = spec.requests * spec.tilesPerImage * llama4VisionFlopsPerTile(config);
  const prefill = spec.requests * llama4PrefillFlops(config, spec.promptLength);
  const t = config.text, { layers, head } = tokenFlops(config);
  const decode = decodeWaves(spec.requests, spec.promptLength, spec.outputTokens, spec.decodeBatch, (B, context) => ({
    bytes: llama4DecodeStepBytes(config, B, context, spec.fp8),
    flops: B * (layers + head) + B * 4 * t.numLayers * t.numHeads * t.headDim * context,
  }), ceilings);
  return phaseFloors(vision, prefill, decode, spec.requests * spec.outputTokens, ceilings);
}
