/**
 * Streaming detokenization: fed one token id at a time, returns the text to print now.
 *
 * Decodes a small window of recent tokens (the prefix/read offsets of vLLM and HF text streamers) rather than
 * everything so far. A character whose bytes are split across tokens decodes to U+FFFD until it completes, so
 * text ending in U+FFFD is held back. All deltas plus `flush()` equal `tokenizer.decode(allIds, options)`.
 */
import { checkArgument, invariant } from "../core/errors.js";
import { cleanUpStableLength, cleanUpTokenizationSpaces } from "./cleanup-spaces.js";
import type { Tokenizer } from "./tokenizer.js";

export interface DetokenizeOptions {
  skipSpecialTokens?: boolean;
}

const REPLACEMENT_CHAR = "\uFFFD";
// A character's incomplete head spans at most 3 bytes, so at most 3 tokens: past this many held tokens the tail
// is worth splitting (garbage bytes from a model can otherwise keep the text ending in U+FFFD for a long time).
const MAX_HELD_TOKENS = 4;
// Ids before the window are dropped once this many pile up, so memory stays bounded on long generations.
const COMPACT_AFTER = 1024;

export class IncrementalDetokenizer {
  private ids: number[] = [];
  /** Start of the decode window; always a character boundary of the byte stream. */
  private prefixOffset = 0;
  /** Tokens before this one have been printed. */
  private readOffset = 0;
  /** Decoded text held back because clean-up may still change it (only when the tokenizer cleans up spaces). */
  private unstableRaw = "";
  private readonly skipSpecialTokens: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    options: DetokenizeOptions = {},
  ) {
    this.skipSpecialTokens = options.skipSpecialTokens ?? false;
  }

  /** Adds one generated token; returns the text that is now final (often "", never half of a character). */
  push(id: number): string {
    checkArgument(Number.isInteger(id), `token ids must be integers, got ${id}`);
    this.ids.push(id);
    return this.cleanUp(this.advance(false), false);
  }

  /** Adds several tokens; returns their combined delta. */
  pushAll(ids: Iterable<number>): string {
    let out = "";
    for (const id of ids) out += this.push(id);
    return out;
  }

  /** Ends the stream: returns whatever is held back (an unfinished character becomes U+FFFD, as in a full decode). */
  flush(): string {
    return this.cleanUp(this.advance(true), true);
  }

  private decode(start: number, end = this.ids.length): string {
    const ids = this.ids.slice(start, end);
    return this.tokenizer.decode(ids, { skipSpecialTokens: this.skipSpecialTokens, cleanUpTokenizationSpaces: false });
  }

  /** The raw (not cleaned-up) text that became final. */
  private advance(final: boolean): string {
    if (this.readOffset === this.ids.length) return "";
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const fullText = this.decode(this.prefixOffset);
    invariant(fullText.startsWith(prefixText), "detokenizer window does not start at a character boundary");
    if (final || !fullText.endsWith(REPLACEMENT_CHAR)) {
      this.moveWindow(this.ids.length);
      return fullText.slice(prefixText.length);
    }
    if (this.ids.length - this.readOffset > MAX_HELD_TOKENS) return this.splitHeldTail(prefixText, fullText);
    return "";
  }

  /**
   * Prints the held tokens up to the last boundary that no later token can change. A boundary qualifies when
   * decoding both sides apart gives the same text as decoding them together and the right side has text: the
   * bytes before it are then either a complete character or known to be invalid because of what follows.
   * (An empty right side, e.g. only skipped special tokens, proves nothing.)
   */
  private splitHeldTail(prefixText: string, fullText: string): string {
    for (let k = this.ids.length - 1; k > this.readOffset; k--) {
      const left = this.decode(this.prefixOffset, k);
      const right = this.decode(k);
      if (right !== "" && left + right === fullText) {
        this.moveWindow(k);
        return left.slice(prefixText.length);
      }
    }
    return "";
  }

  private moveWindow(newReadOffset: number): void {
    this.prefixOffset = this.readOffset;
    this.readOffset = newReadOffset;
    if (this.prefixOffset > COMPACT_AFTER) {
      this.ids = this.ids.slice(this.prefixOffset);
      this.readOffset -= this.prefixOffset;
      this.prefixOffset = 0;
    }
  }

  // Clean-up is applied to the whole text at once by decode(); here it runs on the stream, holding back the
  // few trailing characters a later token could still join into a pattern.
  private cleanUp(raw: string, final: boolean): string {
    if (!this.tokenizer.cleanUpSpaces) return raw;
    const pending = this.unstableRaw + raw;
    const stable = final ? pending.length : cleanUpStableLength(pending);
    this.unstableRaw = pending.slice(stable);
    return cleanUpTokenizationSpaces(pending.slice(0, stable));
  }
}
