/**
 * Reference tokenizers for the processor tests, adapted to the processors' `ProcessorTokenizer` interface:
 * `@huggingface/tokenizers` (synchronous) and the Rust binding `tokenizers` (asynchronous `encode`).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import type { ProcessorTokenizer } from "../../../src/multimodal/processor-tokenizer.js";

// Building a tokenizer from a 7 MB tokenizer.json takes seconds: one per folder and test process.
const cache = new Map<string, ProcessorTokenizer>();

export function jsTokenizer(modelDir: string): ProcessorTokenizer {
  const cached = cache.get(modelDir);
  if (cached) return cached;
  const json = JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8")) as object;
  const config = JSON.parse(readFileSync(join(modelDir, "tokenizer_config.json"), "utf8")) as object;
  const tokenizer = new Tokenizer(json, config);
  const adapted: ProcessorTokenizer = { encode: (text) => tokenizer.encode(text).ids, tokenToId: (token) => tokenizer.token_to_id(token) };
  cache.set(modelDir, adapted);
  return adapted;
}

interface RustTokenizer {
  encode(text: string): Promise<{ getIds(): number[] }>;
  tokenToId(token: string): number | null;
}

export function rustTokenizer(modelDir: string): ProcessorTokenizer {
  const require = createRequire(import.meta.url);
  const { Tokenizer: Rust } = require("tokenizers") as { Tokenizer: { fromFile(path: string): RustTokenizer } };
  const tokenizer = Rust.fromFile(join(modelDir, "tokenizer.json"));
  return { encode: async (text) => (await tokenizer.encode(text)).getIds(), tokenToId: (token) => tokenizer.tokenToId(token) };
}
