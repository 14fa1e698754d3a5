/**
 * The little the processors need from a tokenizer, declared here so that any tokenizer fits: Iris's own
 * (src/tokenizer), `@huggingface/tokenizers`, or the Rust binding `tokenizers` (whose `encode` is asynchronous).
 */
import { IrisError } from "../core/errors.js";

export interface ProcessorTokenizer {
  /** Token ids of `text`, the tokenizer's post-processor applied (special tokens such as a BOS added, if it adds any). */
  encode(text: string): readonly number[] | Promise<readonly number[]>;
  /** The id of a token of the vocabulary (special tokens included), or undefined/null when there is none. */
  tokenToId(token: string): number | undefined | null;
}

/** The id of a special token the processor relies on; a clear error when the tokenizer lacks it. */
export function requireTokenId(tokenizer: ProcessorTokenizer, token: string): number {
  const id = tokenizer.tokenToId(token);
  if (id === undefined || id === null) throw new IrisError("TOKENIZER", `the tokenizer has no token ${token}, which the processor needs`);
  return id;
}
