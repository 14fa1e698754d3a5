/**
 * Transformers' `clean_up_tokenization`: removes the space a word-level tokenizer leaves before punctuation and
 * English contractions. Applied after decoding when `clean_up_tokenization_spaces` is on in tokenizer_config.json.
 */

// In transformers' order: the passes run one after the other, so the order is part of the result.
const REPLACEMENTS: readonly [string, string][] = [
  [" .", "."],
  [" ?", "?"],
  [" !", "!"],
  [" ,", ","],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

export function cleanUpTokenizationSpaces(text: string): string {
  let out = text;
  for (const [from, to] of REPLACEMENTS) out = out.replaceAll(from, to);
  return out;
}

// Every pattern above starts with a space; these are the characters that occur inside a pattern before its last
// character. A match can only straddle a cut whose left neighbour is one of them.
const INNER_PATTERN_CHARS = new Set([" ", "'", "n", "v", "r"]);

/**
 * The length of the longest prefix of `text` whose clean-up no later text can change:
 * `clean(text.slice(0, n)) + clean(rest)` equals `clean(text.slice(0, n) + rest)` for every `rest`.
 * Holds because no pass can match across a cut whose left character ends every pattern it could be part of,
 * and the passes only delete spaces, so that character stays next to the cut through all of them.
 */
export function cleanUpStableLength(text: string): number {
  let n = text.length;
  while (n > 0 && INNER_PATTERN_CHARS.has(text[n - 1])) n--;
  return n;
}
