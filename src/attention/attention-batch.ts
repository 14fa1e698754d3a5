/**
 * What every decoder attention layer of one forward pass shares: where this step's keys go in the paged caches,
 * which cached keys each sequence sees, and the caches themselves (one K and one V tensor per layer). The runner
 * builds it once per step; the layers only read it.
 */
import type { PagedAttentionMeta } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";

export interface LayerKVCache {
  /** [numSlots, kvHeads, headDim]; slot = page * pageSize + offset. */
  readonly k: Tensor;
  readonly v: Tensor;
}

export interface AttentionBatch {
  /** I32 [T]: the cache slot of each token of this step. */
  readonly slotMapping: Tensor;
  readonly meta: PagedAttentionMeta;
  /** Indexed by decoder layer. */
  readonly caches: readonly LayerKVCache[];
}
