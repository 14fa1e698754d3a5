/**
 * The reference for tokenizer tests: the Rust `tokenizers` library that transformers runs, through its Node
 * binding, on the fixture tokenizers. Also a seeded generator of varied test strings.
 */
import { Tokenizer as RustTokenizer } from "tokenizers";
import { join } from "node:path";
import { modelDir } from "../../helpers/fixtures.js";

/** Fixture directories whose tokenizers are checked: the Qwen tokenizer and the Llama 4 tokenizer. */
export const TOKENIZER_DIRS = ["tiny-qwen2_5-vl", "tiny-llama4"] as const;

const cache = new Map<string, RustTokenizer>();

export function rustTokenizer(dirName: string): RustTokenizer {
  let tok = cache.get(dirName);
  if (tok === undefined) {
    tok = RustTokenizer.fromFile(join(modelDir(dirName), "tokenizer.json"));
    cache.set(dirName, tok);
  }
  return tok;
}

export async function rustEncode(dirName: string, text: string, addSpecialTokens = true): Promise<number[]> {
  return (await rustTokenizer(dirName).encode(text, null, { addSpecialTokens })).getIds();
}

export async function rustDecode(dirName: string, ids: number[], skipSpecialTokens = false): Promise<string> {
  return rustTokenizer(dirName).decode(ids, skipSpecialTokens);
}

/** A small deterministic generator (an LCG), so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const FRAGMENTS: ((rnd: () => number) => string)[] = [
  (r) => pick(r, ["Hello", "the", " world", "THE", "'s", "'T", "'LL", "'ve", "n't", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", "-", "_", "...", "?!", "\"", "(x)", "{}", "#", "@user", "https://example.com/a?b=c"]),
  (r) => String.fromCodePoint(0x4e00 + Math.floor(r() * 0x5000)), // CJK ideographs
  (r) => pick(r, ["你好，世界！", "日本語のテキスト", "한국어 문장", "Ελληνικά", "русский текст", "العربية", "עברית", "हिन्दी", "ไทย", "tiếng Việt", "Saúde"]),
  (r) => String.fromCodePoint(0x1f300 + Math.floor(r() * 0x300)), // emoji
  (r) => pick(r, ["👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇯🇵", "❤️", "𠮷野家", "𝟘𝟙"]),
  (r) => pick(r, ["é", "e\u0301", "A\u030a", "ﬁ", "ß", "İ", "ı", "ǅ", "Ⅻ", "½", "²", "٣", "\u200b", "\u200d", "\ufeff", "\u0085", "\u00a0", "\u2028", "\u3000", "'ſt"]),
  (r) => " ".repeat(1 + Math.floor(r() * 24)),
  (r) => "\n".repeat(1 + Math.floor(r() * 4)) + " ".repeat(Math.floor(r() * 4)),
  (r) => String(Math.floor(r() * 1e12)),
  (r) => (r() * 1000).toFixed(3),
  (r) => String.fromCodePoint(32 + Math.floor(r() * 0x3000)),
  (r) => pick(r, ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|image_pad|>", "<|vision_start|>", "<think>", "<|begin_of_text|>", "<|eot|>", "<|header_start|>", "<|image|>", "<|patch|>", "<|im_start", "|>", "<|"]),
];

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}

/** `count` strings mixing ASCII, whitespace runs, numbers, CJK, emoji, combining marks and special tokens. */
export function variedStrings(count: number, seed: number): string[] {
  const r = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = "";
    const parts = 1 + Math.floor(r() * 20);
    for (let j = 0; j < parts; j++) s += pick(r, FRAGMENTS)(r);
    out.push(s);
  }
  return out;
}
