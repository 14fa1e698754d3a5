/**
 * Logprob requests and records. A request asks with `returnLogprob` (and optionally `topLogprobsNum`,
 * `logprobStartLen`, `tokenIdsLogprob`); the runner computes log-softmax rows on the device and returns, per
 * position, the chosen token's logprob, the top ones and those of the asked ids. `metaInfo` holds them in SGLang's
 * shapes: `[logprob, tokenId, text]` tuples (text is always null: token texts are not returned).
 */

/** What one request asks for, resolved (only present when `returnLogprob` is true). */
export interface LogprobSpec {
  /** First prompt position with an input logprob; -1: output logprobs only (SGLang's default). */
  readonly startLen: number;
  /** Top logprobs per position (0: none). */
  readonly topNum: number;
  /** Token ids whose logprobs are returned at every position, or null. */
  readonly tokenIds: readonly number[] | null;
}

/** The logprobs of one position: the token there, and the top / asked tokens of the distribution it came from. */
export interface PositionLogprobs {
  /** Null for prompt position 0, which no distribution predicts. */
  readonly logprob: number | null;
  readonly tokenId: number;
  /** `[logprob, tokenId]`, largest first; null when not asked (or at position 0). */
  readonly top: readonly (readonly [number, number])[] | null;
  readonly ids: readonly (readonly [number, number])[] | null;
}

/** SGLang's tuple: logprob, token id, token text (null: Iris does not decode texts into logprobs). */
export type LogprobTuple = readonly [number | null, number, null];
