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

/**
 * Tokenizes a prompt whose image placeholders were expanded to `expected` copies of `token` and checks they came out
 * as that many special tokens (a tokenizer that split them would misplace every image feature).
 */
export async function encodeExpanded(tokenizer: ProcessorTokenizer, text: string, token: string, tokenId: number,
  expected: number): Promise<readonly number[]> {
  const ids = await tokenizer.encode(text);
  let found = 0;
  for (const id of ids) if (id === tokenId) found++;
  if (found !== expected) {
    throw new IrisError("TOKENIZER", `tokenizing the expanded prompt gave ${found} ${token} tokens instead of ${expected}: the tokenizer must treat ${token} as a special token`);
  }
  return ids;
}
