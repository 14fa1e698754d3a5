import type { PrefixHandle } from "../cache/prefix-cache.js";
import { TokenTable } from "../cache/token-table.js";
import type { RequestId, RequestInfo, RequestSpec, RequestStatus } from "./types.js";

/**
 * The scheduler's record of one request: its tokens, how many of them are in the KV cache, and the pages they
 * occupy. The first `sharedPages` pages of `table` belong to the prefix cache and are read under `prefixHandle`'s
 * lock; the rest belong to this request until they are freed or handed to the cache.
 */
export class RequestState {
  readonly id: RequestId;
  readonly promptLength: number;
  readonly maxNewTokens: number;
  /** Prompt ids (cache keys) followed by the sampled tokens. */
  readonly tokenIds: number[];
  readonly table: TokenTable;
  status: RequestStatus = "waiting";
  /** Tokens whose KV is in the cache; the next token to compute is at this position. */
  kvLength = 0;
  sharedPages = 0;
  prefixHandle: PrefixHandle | null = null;
  cachedTokens = 0;
  numRetractions = 0;
  /** `tokenIds.length` at admission: tokens below it are (re)computed as prefill. */
  prefillEnd = 0;
  /**
   * Sampled tokens not known yet: the last `unresolved` entries of `tokenIds` are placeholders of steps in flight
   * (they resolve in step order, so they are always the tail).
   */
  unresolved = 0;
  /** A prefill computed over placeholders: its pages go to the prefix cache once they resolve. */
  shareWhenResolved = false;
  /** Tokens the prefix cache may supply at most. */
  readonly maxCachedTokens: number;

  constructor(spec: RequestSpec, pageSize: number) {
    this.id = spec.id;
    this.promptLength = spec.promptIds.length;
    this.maxNewTokens = spec.maxNewTokens;
    this.maxCachedTokens = spec.maxCachedTokens ?? Number.MAX_SAFE_INTEGER;
    this.tokenIds = [...spec.promptIds];
    this.table = new TokenTable(pageSize);
  }

  get numOutputTokens(): number {
    return this.tokenIds.length - this.promptLength;
  }

  /** Tokens to compute before the next token can be sampled: the rest of the prefill, or 1 for decode. */
  get pendingTokens(): number {
    return this.tokenIds.length - this.kvLength;
  }

  /** Tokens whose ids are known, so they may key the prefix cache. */
  get knownLength(): number {
    return this.tokenIds.length - this.unresolved;
  }

  get remainingNewTokens(): number {
    return Math.max(0, this.maxNewTokens - this.numOutputTokens);
  }

  info(): RequestInfo {
    return {
      id: this.id,
      status: this.status,
      promptLength: this.promptLength,
      outputIds: this.tokenIds.slice(this.promptLength),
      cachedTokens: this.cachedTokens,
      numRetractions: this.numRetractions,
    };
  }
}
