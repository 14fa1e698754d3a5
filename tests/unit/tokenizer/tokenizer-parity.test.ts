// The JS tokenizer against the Rust library transformers uses, on varied strings and random id sequences.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tokenizer } from "../../../src/tokenizer/tokenizer.js";
import { modelDir } from "../../helpers/fixtures.js";
import { TOKENIZER_DIRS, rustDecode, rustEncode, rustTokenizer, seededRandom, variedStrings } from "./rust-reference.js";

const STRINGS = variedStrings(300, 20240611);

// Cases where byte-level BPE implementations are known to drift: regex classes (\s vs Unicode White_Space,
// \p{L}/\p{N} tables), case-insensitive contractions, NFC, long whitespace runs, added tokens inside words.
const EDGE_CASES = [
  "",
  " ",
  "a\u0085b",
  "a\ufeffb",
  "'ſt 'S 'LL 'Ve",
  "e\u0301 A\u030a \u1e9b\u0323",
  "x" + " ".repeat(300) + "y",
  " \n \n\n  \t\t x  ",
  "1234567890123",
  "<|im_start|><|im_start|>x<|im_end|>",
  "text<|image_pad|>text<|eot|>text",
  "<|begin_of_text|><|begin_of_text|>hi",
  "\u{10ffff}\u{e0001}\u{1d7d8}",
];

for (const dir of TOKENIZER_DIRS) {
  const tok = Tokenizer.fromDir(modelDir(dir));

  test(`${dir}: encode matches Rust on ${STRINGS.length + EDGE_CASES.length} strings, with and without special tokens`, async () => {
    for (const text of [...EDGE_CASES, ...STRINGS]) {
      for (const addSpecialTokens of [true, false]) {
        assert.deepEqual(tok.encode(text, { addSpecialTokens }), await rustEncode(dir, text, addSpecialTokens), JSON.stringify(text));
      }
    }
  });

  test(`${dir}: decode matches Rust on the encoded strings and round-trips`, async () => {
    for (const text of [...EDGE_CASES, ...STRINGS]) {
      const ids = await rustEncode(dir, text, false);
      const decoded = tok.decode(ids);
      assert.equal(decoded, await rustDecode(dir, ids, false));
      // Qwen normalizes to NFC, so compare with the normalized text.
      assert.equal(decoded, dir.startsWith("tiny-qwen") ? text.normalize("NFC") : text);
      assert.equal(tok.decode(ids, { skipSpecialTokens: true }), await rustDecode(dir, ids, true));
    }
  });

  test(`${dir}: decode matches Rust on random id sequences (broken UTF-8, special and unknown ids)`, async () => {
    const rnd = seededRandom(7);
    const vocab = rustTokenizer(dir).getVocabSize(true);
    for (let i = 0; i < 300; i++) {
      const ids = Array.from({ length: 1 + Math.floor(rnd() * 16) }, () =>
        rnd() < 0.15 ? vocab - 1 - Math.floor(rnd() * 40) : Math.floor(rnd() * vocab),
      );
      for (const skip of [false, true]) {
        assert.equal(tok.decode(ids, { skipSpecialTokens: skip }), await rustDecode(dir, ids, skip), JSON.stringify(ids));
      }
    }
  });

  test(`${dir}: tokenToId and idToToken match Rust`, () => {
    const rust = rustTokenizer(dir);
    const rnd = seededRandom(3);
    for (let i = 0; i < 500; i++) {
      const id = Math.floor(rnd() * tok.vocabSize);
      const token = rust.idToToken(id) ?? undefined;
      assert.equal(tok.idToToken(id), token);
      if (token !== undefined) assert.equal(tok.tokenToId(token), id);
    }
    assert.equal(tok.idToToken(tok.vocabSize + 1000), undefined);
    assert.equal(tok.tokenToId("no such token, surely"), undefined);
  });
}
