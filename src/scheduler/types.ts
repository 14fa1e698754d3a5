/** Plain data the scheduler exchanges with the engine and the runner. */

export type RequestId = string;

/** What the engine tells the scheduler about a new request. */
export interface RequestSpec {
  readonly id: RequestId;
  /**
   * The prompt's key for the prefix cache: its token ids with every image token replaced by its image's content
   * key (a hash of the processed image and its layout, as SGLang's `pad_input_ids`). Its length is the prompt
   * length. The runner keeps the real ids and images itself; these only decide what is shared.
   */
  readonly promptIds: readonly number[];
  /** The most tokens the engine will let this request generate; used for KV reservation and the fit check. */
  readonly maxNewTokens: number;
  /** Prompt tokens the prefix cache may supply at most (input logprobs need their rows computed); default: all. */
  readonly maxCachedTokens?: number;
}

/** One request's work in a step. */
export interface BatchEntry {
  readonly requestId: RequestId;
  /** Position of the first token to compute: the number of this request's tokens already in the KV cache. */
  readonly startPosition: number;
  /** Tokens to compute this step: 1 for decode, a chunk of the prompt for prefill. */
  readonly numTokens: number;
  /** KV slot each computed token is written to (`page * pageSize + offset`). */
  readonly slots: Int32Array;
  /**
   * The request's pages in sequence order, covering every token up to the end of this step's range; attention
   * reads the earlier tokens through it. A live view: valid until `processBatchResult` for this batch.
   */
  readonly pageTable: readonly number[];
  /** Whether a token is sampled after the last computed one: true for decode and the last chunk of a prefill. */
  readonly sample: boolean;
  /** True while the request computes tokens it has not computed before in this admission (prompt or recompute). */
  readonly isPrefill: boolean;
  /** Tokens of this admission taken from the prefix cache (set on every chunk of the same admission). */
  readonly cachedTokens: number;
}

export interface ScheduledBatch {
  /** Increases by one per batch; `processBatchResult` checks it answers the latest. */
  readonly id: number;
  readonly entries: readonly BatchEntry[];
  /** Sum of `numTokens` over the entries; at most `maxTokensPerStep` plus the decode count beyond it. */
  readonly numTokens: number;
  /** Entries with `sample` set: the number of tokens `processBatchResult` expects, in entry order. */
  readonly numSampled: number;
}

export interface SampledToken {
  readonly requestId: RequestId;
  readonly token: number;
  /** Tokens generated so far, this one included. */
  readonly numOutputTokens: number;
}

export type RequestStatus = "waiting" | "running";

/** A read-only view of a request, for the engine's result and metadata. */
export interface RequestInfo {
  readonly id: RequestId;
  readonly status: RequestStatus;
  readonly promptLength: number;
  readonly outputIds: readonly number[];
  /** Prompt tokens reused from the prefix cache at the latest admission (SGLang's `cached_tokens`). */
  readonly cachedTokens: number;
  /** Times this request was retracted and put back in the waiting queue. */
  readonly numRetractions: number;
}

export interface SchedulerStats {
  readonly numWaiting: number;
  readonly numRunning: number;
  readonly numRetractions: number;
  readonly numBatches: number;
  readonly freePages: number;
  readonly cachedPages: number;
  /** The current decode reservation ratio (see `NewTokenRatio`). */
  readonly newTokenRatio: number;
}
