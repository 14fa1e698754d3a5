/** What the attention kernels of the Backend contract take besides their tensors (re-exported by backend.ts). */
import type { Tensor } from "./tensor.js";

/** Packed segments of a varlen attention: cuSeqlens I32 [S+1] on the device and the longest segment (host). */
export interface Segments {
  readonly cuSeqlens: Tensor;
  /** An upper bound of the longest segment, known on the host, so a GPU launch needs no readback. */
  readonly maxSeqLen: number;
}

export interface AttentionOptions {
  /** Multiplies q·k before the softmax, usually D^-0.5. */
  readonly scale: number;
  readonly causal: boolean;
}

/**
 * One step of a batch of S sequences over paged KV caches. A cache is [numSlots, Hk, D] with
 * slot = page * pageSize + offset, so page p holds positions p*pageSize .. of whichever sequence owns it.
 */
export interface PagedAttentionMeta {
  /** I32 [S+1]: sequence s owns query rows queryStart[s] .. queryStart[s+1]-1. */
  readonly queryStart: Tensor;
  /** I32 [S]: keys of sequence s after this step (cached prefix plus this step's tokens), >= its query count. */
  readonly kvLens: Tensor;
  /** I32 [S, maxPages]: the pages of each sequence in position order; entries past its last page are ignored. */
  readonly pageTable: Tensor;
  readonly pageSize: number;
  /** Host-side upper bounds for launch configuration; the cpu backend does not need them. */
  readonly maxQueryLen: number;
  readonly maxKvLen: number;
}

export interface PagedAttentionOptions {
  readonly scale: number;
  /**
   * Chunked attention (Llama 4's RoPE layers): a query at position p sees only keys at positions k <= p with
   * floor(k / chunkSize) == floor(p / chunkSize). Undefined: plain causal.
   */
  readonly chunkSize?: number;
}
