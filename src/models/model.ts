/**
 * The contract between the runner and a model family. A model owns its weights and composes layers in the
 * reference order; the runner owns batching, the KV cache and sampling, and never looks inside a model.
 */
import type { ModelConfig } from "../checkpoint/model-config.js";
import type { AttentionBatch } from "../attention/attention-batch.js";
import type { Parameters } from "../layers/parameters.js";
import type { Tensor } from "../runtime/tensor.js";

/** One forward pass over the tokens of several sequences (prefill chunks and decode tokens mixed). */
export interface ForwardBatch {
  /** I32 [T]. */
  readonly inputIds: Tensor;
  /** I32 [T, positionRows]: the model's rotary positions (M-RoPE rows t, h, w for Qwen2.5-VL). */
  readonly positions: Tensor;
  /** F32 [T]: a per-token query scale (the model's `queryScales` of each token's cache position), or null. */
  readonly queryScales: Tensor | null;
  /** Image embeddings to place over the image placeholder tokens of this step, or null. */
  readonly images: { readonly rows: Tensor; readonly embeddings: Tensor } | null;
  readonly attention: AttentionBatch;
  /** I32 [B]: the tokens whose next-token logits are wanted. */
  readonly logitRows: Tensor;
}

/** A request's images as the vision encoder takes them, already on the model's device. */
export interface VisionInput {
  /** Qwen2.5-VL: [patches, channels * temporal * patch²]; Llama 4: [tiles, 3, size, size]. */
  readonly pixelValues: Tensor;
  /** Qwen2.5-VL: [t, h, w] per image in patches. */
  readonly imageGrids?: readonly (readonly number[])[];
}

export interface VisionLanguageModel {
  readonly config: ModelConfig;
  readonly parameters: Parameters;
  /**
   * Rows of a token's rotary position: 3 for M-RoPE (computed with the prompt by the processor, as SGLang does),
   * 1 for plain positions.
   */
  readonly positionRows: number;
  /** The token id whose positions receive image embeddings. */
  readonly imageTokenId: number;
  /** KV heads this instance caches per layer: all of them, or a tensor-parallel rank's share. */
  readonly kvHeads: number;
  /** Hidden size of the embeddings the vision encoder produces (the decoder's hidden size). */
  readonly embeddingSize: number;
  /**
   * Host work the model needs per token, done by the runner while it prepares a step (the forward itself does none):
   * fills `out[t]` with the query scale of a token at cache position `cachePositions[t]`. Null: no scales.
   */
  readonly queryScales: ((cachePositions: Int32Array, out: Float32Array) => void) | null;
  /** The vision encoder: one embedding row per image placeholder token, in prompt order. */
  encodeImages(input: VisionInput): Tensor;
  /**
   * Next-token logits [B, vocab] for `batch.logitRows`, in the backend's float type (BF16 on a GPU). Enqueues work
   * only: no host work, no readback.
   */
  forward(batch: ForwardBatch): Tensor;
}
