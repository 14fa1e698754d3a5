/**
 * Follows one request's generated tokens: decides when it finishes (stop token, stop string, length) and which
 * text becomes final with each token. Text that could still turn into a stop string, or an unfinished multi-byte
 * character, is held back, so the streamed deltas always add up to the final text.
 *
 * Two of them follow each request. The core's decides when it ends and decodes text only to find stop strings
 * (`textOnlyForStops`); the caller's, fed the same tokens, makes the text. Both apply the same rule to the same
 * tokens, so they end at the same token. Decoding on the caller's thread (SGLang's detokenizer process) keeps it off
 * the core's, which launches the GPU's steps: 512 requests' tokens cost ~2.6 ms of a ~9 ms decode step there.
 */
import type { FinishReason } from "../core/request.js";
import type { ResolvedSamplingParams } from "../core/sampling-params.js";
import { IncrementalDetokenizer } from "../tokenizer/incremental-detokenizer.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";

export interface TokenOutcome {
  readonly delta: string;
  readonly finishReason: FinishReason | null;
}

export class OutputTracker {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly stopTokens: ReadonlySet<number>;
  /** All text decoded so far (possibly past a stop string until it is cut). */
  private text = "";
  /** Length of `text` already handed out as deltas. */
  private emitted = 0;
  private generated = 0;
  /** Whether tokens are decoded at all: always for the text, only with stop strings for the core's decisions. */
  private readonly decodes: boolean;

  constructor(tokenizer: Tokenizer, private readonly params: ResolvedSamplingParams, eosTokenIds: readonly number[],
    options: { textOnlyForStops?: boolean } = {}) {
    this.detokenizer = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens: params.skipSpecialTokens });
    this.decodes = !options.textOnlyForStops || params.stop.length > 0;
    // As in SGLang, `ignoreEos` turns off every stop token, the request's own `stopTokenIds` included.
    this.stopTokens = new Set(params.ignoreEos ? [] : [...eosTokenIds, ...params.stopTokenIds]);
  }

  get completionTokens(): number {
    return this.generated;
  }

  /**
   * Takes one generated token; returns the text it finalized and whether the request is done. The checks run in
   * SGLang's order: the length limit first, then (once `minNewTokens` are out) stop tokens, then stop strings.
   */
  push(token: number): TokenOutcome {
    this.generated++;
    const p = this.params;
    if (this.generated >= p.maxNewTokens) {
      this.decode(token);
      return this.finish({ type: "length", length: p.maxNewTokens });
    }
    const mayStop = this.generated >= p.minNewTokens;
    if (mayStop && this.stopTokens.has(token)) {
      // The stop token stays in the output ids; the text drops it unless `noStopTrim` (SGLang's trim_matched_stop).
      if (p.noStopTrim) this.decode(token);
      return this.finish({ type: "stop", matched: token });
    }
    this.decode(token);
    if (mayStop && p.stop.length) {
      const match = this.findStop();
      if (match) {
        if (!p.noStopTrim) this.text = this.text.slice(0, match.index);
        return this.finish({ type: "stop", matched: match.stop }, false);
      }
    }
    return { delta: this.take(this.text.length - this.heldBack()), finishReason: null };
  }

  /** Ends the request early (abort or failure): whatever text is final goes out. */
  abort(message: string, code?: string): TokenOutcome {
    return this.finish({ type: "abort", message, code });
  }

  private decode(token: number): void {
    if (this.decodes) this.text += this.detokenizer.push(token);
  }

  private finish(reason: FinishReason, flush = true): TokenOutcome {
    if (flush && this.decodes) this.text += this.detokenizer.flush();
    return { delta: this.take(this.text.length), finishReason: reason };
  }

  private take(upTo: number): string {
    if (upTo <= this.emitted) return "";
    const delta = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return delta;
  }

  /** The earliest stop string that the text now contains, searching only where new text could complete one. */
  private findStop(): { stop: string; index: number } | null {
    let best: { stop: string; index: number } | null = null;
    for (const stop of this.params.stop) {
      const from = Math.max(0, this.emitted - stop.length);
      const index = this.text.indexOf(stop, from);
      if (index >= 0 && (best === null || index < best.index)) best = { stop, index };
    }
    return best;
  }

  /** Characters at the end of the text that begin some stop string, so must wait for the next token. */
  private heldBack(): number {
    let held = 0;
    for (const stop of this.params.stop) {
      for (let n = Math.min(stop.length - 1, this.text.length); n > held; n--) {
        if (this.text.endsWith(stop.slice(0, n))) {
          held = n;
          break;
        }
      }
    }
    return held;
  }
}
