/**
 * Makes `@huggingface/tokenizers` see Unicode as the Rust `tokenizers` library does.
 *
 * The JS library runs the tokenizer's regex and NFC with the Unicode tables of Node's ICU (Unicode 17 in
 * Node 20.20); the Rust library that transformers uses has older ones (Oniguruma's regex classes: Unicode 16;
 * its NFC tables: Unicode 9). For characters the Rust side does not know, the two then disagree:
 * Unicode 17 letters and digits split differently (" 𑷠1" is one pre-token in Rust, two in JS), and newer
 * combining marks are reordered or composed only in JS. Rust treats an unknown character as unassigned, so
 * here each such character is swapped for a permanently unassigned one (a noncharacter) around the regex
 * split and the normalization, and swapped back after. The lists below were measured against tokenizers
 * 0.23.2 over every code point (tests/unit/tokenizer check samples of both); on a Node with newer Unicode
 * tables than 17, characters added later would need adding here.
 */
import { NFCNormalizer, NFDNormalizer, NFKCNormalizer, NFKDNormalizer, SequenceNormalizer, SequencePreTokenizer, SplitPreTokenizer } from "@huggingface/tokenizers";
import type { Normalizer, PreTokenizer, Tokenizer as HfTokenizer } from "@huggingface/tokenizers";

/** Letters and digits of Unicode 17, unassigned for the Rust regex (hex code points and ranges). */
const REGEX_UNKNOWN =
  "88f c5c cdc a7ce-a7cf a7d2 a7d4 a7f1 10940-10959 10ec5-10ec7 11db0-11ddb 11de0-11de9 16ea0-16eb8 16ebb-16ed3 " +
  "16ff2-16ff6 187f8-187ff 18d09-18d1e 18d80-18df2 1e6c0-1e6de 1e6e0-1e6e2 1e6e4-1e6e5 1e6e7-1e6ed 1e6f0-1e6f4 " +
  "1e6fe-1e6ff 2b73a-2b73f 2cea2-2cead 323b0-33479";

/** Combining marks and composition partners that Rust's NFC tables do not have. */
const NORMALIZATION_UNKNOWN =
  "7fd 897-89f 8ca-8d3 9fe c3c d3b-d3c eba 1715 1abf-1add 1ae0-1aeb 1df6-1dfa a82c 105d2 105da 10d24-10d27 " +
  "10d69-10d6d 10eab-10eac 10efa-10efb 10efd-10eff 10f46-10f50 10f82-10f85 11070 1133b 11382 11384 1138b 11390 " +
  "113b8 113bb 113c2 113c9 113ce-113d0 1145e 11839-1183a 11930 11935 1193d-1193e 11943 119e0 11a34 11a47 11a99 " +
  "11d42 11d44-11d45 11d97 11f41-11f42 1611e-16120 16129 1612f 16d63 16d67 16ff0-16ff1 1e08f 1e130-1e136 1e2ae " +
  "1e2ec-1e2ef 1e4ec-1e4ef 1e5ee-1e5ef 1e6e3 1e6e6 1e6ee-1e6ef 1e6f5";

// Noncharacters: unassigned forever, no case, no combining class, no composition. One per UTF-16 length, so a
// swap keeps string offsets.
const PLACEHOLDER_BMP = "\uFDD0";
const PLACEHOLDER_ASTRAL = "\u{1FFFE}";

// The placeholders themselves are swapped too, so one already in the text comes back unchanged.
function classOf(ranges: string): string {
  const items = ranges.split(" ").map((r) => r.split("-").map((hex) => `\\u{${hex}}`).join("-"));
  return `[${items.join("")}\\u{FDD0}\\u{1FFFE}]`;
}

const REGEX_UNKNOWN_CLASS = classOf(REGEX_UNKNOWN);
const NORMALIZATION_UNKNOWN_CLASS = classOf(NORMALIZATION_UNKNOWN);
const HAS_REGEX_UNKNOWN = new RegExp(REGEX_UNKNOWN_CLASS, "u");
const ALL_REGEX_UNKNOWN = new RegExp(REGEX_UNKNOWN_CLASS, "gu");
const HAS_NORMALIZATION_UNKNOWN = new RegExp(NORMALIZATION_UNKNOWN_CLASS, "u");
const ALL_NORMALIZATION_UNKNOWN = new RegExp(NORMALIZATION_UNKNOWN_CLASS, "gu");
const ALL_PLACEHOLDERS = /[\uFDD0\u{1FFFE}]/gu;

/** Regex splitting with unknown characters hidden; pieces are cut from the original text at the same offsets. */
export function splitAsRust(text: string, split: (text: string) => string[]): string[] {
  if (!HAS_REGEX_UNKNOWN.test(text)) return split(text);
  const masked = text.replace(ALL_REGEX_UNKNOWN, (ch) => (ch.length === 1 ? PLACEHOLDER_BMP : PLACEHOLDER_ASTRAL));
  const pieces = split(masked);
  // Only a split that keeps every character can be mapped back by offset (Split's "Isolated" behavior does).
  if (pieces.join("") !== masked) return split(text);
  let offset = 0;
  return pieces.map((piece) => text.slice(offset, (offset += piece.length)));
}

/** Unicode normalization with unknown characters hidden; they keep their order, being starters. */
export function normalizeAsRust(text: string, normalize: (text: string) => string): string {
  if (!HAS_NORMALIZATION_UNKNOWN.test(text)) return normalize(text);
  const hidden = text.match(ALL_NORMALIZATION_UNKNOWN) ?? [];
  let i = 0;
  return normalize(text.replace(ALL_NORMALIZATION_UNKNOWN, PLACEHOLDER_BMP)).replace(ALL_PLACEHOLDERS, () => hidden[i++]);
}

/** Patches the normalizers and regex pre-tokenizers of a loaded tokenizer in place. */
export function alignWithRustUnicode(tokenizer: Pick<HfTokenizer, "normalizer" | "pre_tokenizer">): void {
  forEachNormalizer(tokenizer.normalizer, (n) => {
    if (n instanceof NFCNormalizer || n instanceof NFDNormalizer || n instanceof NFKCNormalizer || n instanceof NFKDNormalizer) {
      const normalize = n.normalize.bind(n);
      n.normalize = (text: string) => normalizeAsRust(text, normalize);
    }
  });
  forEachPreTokenizer(tokenizer.pre_tokenizer, (p) => {
    if (p instanceof SplitPreTokenizer) {
      const split = p.pre_tokenize_text.bind(p);
      p.pre_tokenize_text = (text: string) => splitAsRust(text, split);
    }
  });
}

function forEachNormalizer(n: Normalizer | null, visit: (n: Normalizer) => void): void {
  if (n === null) return;
  if (n instanceof SequenceNormalizer) for (const child of n.normalizers) forEachNormalizer(child, visit);
  else visit(n);
}

function forEachPreTokenizer(p: PreTokenizer | null, visit: (p: PreTokenizer) => void): void {
  if (p === null) return;
  if (p instanceof SequencePreTokenizer) for (const child of p.tokenizers) forEachPreTokenizer(child, visit);
  else visit(p);
}
