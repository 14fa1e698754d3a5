/**
 * The decoder's attention over the paged KV cache: store this step's keys and values, then attend. Projections and
 * rotary live in the model, so each model shows its own order of operations (Qwen: rotary; Llama 4: rotary, then
 * QK norm, or temperature tuning on NoPE layers).
 */
import { pagedAttention } from "../kernels/paged-attention.js";
import { rotaryStoreKV } from "../kernels/rotary-store-kv.js";
import type { QkAfterRotary, RotaryStyle } from "../runtime/backend.js";
import { storeKV } from "../kernels/store-kv.js";
import type { Tensor } from "../runtime/tensor.js";
import type { AttentionBatch } from "./attention-batch.js";

export class PagedSelfAttention {
  /**
   * @param layer index of the decoder layer, selecting its cache
   * @param chunkSize chunked attention (Llama 4's RoPE layers); undefined for plain causal attention
   */
  constructor(readonly layer: number, readonly scale: number, readonly chunkSize?: number) {}

  /** q [T, Hq, D], k and v [T, Hk, D] → [T, Hq, D]. */
  forward(q: Tensor, k: Tensor, v: Tensor, batch: AttentionBatch): Tensor {
    const cache = batch.caches[this.layer];
    storeKV(k, v, cache.k, cache.v, batch.slotMapping);
    return pagedAttention(q, cache.k, cache.v, batch.meta, { scale: this.scale, chunkSize: this.chunkSize });
  }

  /**
   * The same from the fused projection qkv [T, (Hq + 2 Hk) D]: one kernel rotates q and k (Qwen), or with `after`
   * also normalizes them or scales q (Llama 4), and stores k and v, instead of slicing, rotations, norms and a store.
   */
  forwardRotated(qkv: Tensor, numHeads: number, rotary: { cos: Tensor; sin: Tensor }, style: RotaryStyle, batch: AttentionBatch,
    after: QkAfterRotary = {}): Tensor {
    const cache = batch.caches[this.layer];
    const q = rotaryStoreKV(qkv, numHeads, cache.k, cache.v, rotary.cos, rotary.sin, batch.slotMapping, style, after);
    return pagedAttention(q, cache.k, cache.v, batch.meta, { scale: this.scale, chunkSize: this.chunkSize });
  }
}
