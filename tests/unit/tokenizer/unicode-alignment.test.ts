// Characters newer than the Rust library's Unicode tables: the JS tokenizer must treat them as Rust does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SequencePreTokenizer } from "@huggingface/tokenizers";
import { Tokenizer } from "../../../src/tokenizer/tokenizer.js";
import { alignWithRustUnicode } from "../../../src/tokenizer/unicode-alignment.js";
import { modelDir } from "../../helpers/fixtures.js";
import { TOKENIZER_DIRS, rustEncode, rustTokenizer } from "./rust-reference.js";

// On Node 20.20 (Unicode 17 tables) the unpatched JS library encodes each of these differently from Rust with at
// least one of the two tokenizers: Unicode 17 digits after a space (Llama 4), compositions and combining marks
// newer than Rust's NFC tables (Qwen). The last string has the placeholder noncharacters themselves in it.
const NEWER_THAN_RUST = [
  " \u{11DE0}1",
  "x \u{11DE5}\u{11DE6}\u{11DE7}\u{11DE8} y",
  "\u{113C2}\u{113C2}",
  "\u{1611E}\u{1611E} \u{16D67}\u{16D67}",
  "a\u0345\u07FD",
  "e\u{1DF6}\u0301",
  "\u{105D2}\u0307",
  "a\u{323B0}b \u{323B0}1 \u{A7CE}x",
  "\uFDD0 \u{1FFFE}\u{11DE0}\uFDD0 \u{113C2}\uFDD0\u{113C2}",
];

test("with the alignment, the tokenizer matches Rust on characters newer than Rust's tables", async () => {
  for (const dir of TOKENIZER_DIRS) {
    const tok = Tokenizer.fromDir(modelDir(dir));
    for (const text of NEWER_THAN_RUST) {
      const ids = tok.encode(text, { addSpecialTokens: false });
      assert.deepEqual(ids, await rustEncode(dir, text, false), `${dir} ${JSON.stringify(text)}`);
    }
  }
});

test("pre-tokenization of Unicode 17 letters and digits matches Rust piece by piece", () => {
  const json = JSON.parse(readFileSync(join(modelDir("tiny-llama4"), "tokenizer.json"), "utf8")) as { pre_tokenizer: ConstructorParameters<typeof SequencePreTokenizer>[0] };
  const preTokenizer = new SequencePreTokenizer(json.pre_tokenizer);
  alignWithRustUnicode({ normalizer: null, pre_tokenizer: preTokenizer });
  const rust = rustTokenizer("tiny-llama4").getPreTokenizer();
  assert.ok(rust !== null);
  const text = "a\u{323B0}b\u{11DB0}c \u{11DE0}\u{11DE1}\u{11DE2}\u{11DE3} x\u{1E6C0}\u{A7CE}y \u0C5C\u088F";
  assert.deepEqual(preTokenizer.pre_tokenize_text(text), rust.preTokenizeString(text).map(([piece]) => piece));
});
