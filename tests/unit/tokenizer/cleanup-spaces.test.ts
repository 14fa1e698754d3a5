import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { cleanUpStableLength, cleanUpTokenizationSpaces } from "../../../src/tokenizer/cleanup-spaces.js";
import { modelDir } from "../../helpers/fixtures.js";
import { seededRandom } from "./rust-reference.js";

const ALPHABET = [" ", " ", "'", "n", "t", "v", "e", "r", "m", "s", ".", ",", "?", "!", "a", "\n"];

function randomText(rnd: () => number, length: number): string {
  return Array.from({ length }, () => ALPHABET[Math.floor(rnd() * ALPHABET.length)]).join("");
}

test("clean-up matches the JS library's port of transformers' clean_up_tokenization", () => {
  const json = JSON.parse(readFileSync(join(modelDir("tiny-llama4"), "tokenizer.json"), "utf8")) as object;
  const library = new HfTokenizer(json, { clean_up_tokenization_spaces: true });
  const rnd = seededRandom(17);
  for (let i = 0; i < 300; i++) {
    const text = randomText(rnd, 1 + Math.floor(rnd() * 40));
    const ids = library.encode(text, { add_special_tokens: false }).ids;
    if (ids.length === 0) continue;
    const raw = library.decode(ids, { clean_up_tokenization_spaces: false });
    assert.equal(cleanUpTokenizationSpaces(raw), library.decode(ids), JSON.stringify(text));
  }
  assert.equal(cleanUpTokenizationSpaces("I do n't know , he 's here ' ok ' ."), "I don't know, he's here'ok '.");
});

test("the stable prefix's clean-up never changes whatever text follows", () => {
  const rnd = seededRandom(23);
  for (let i = 0; i < 3000; i++) {
    const head = randomText(rnd, Math.floor(rnd() * 12));
    const tail = randomText(rnd, Math.floor(rnd() * 12));
    const n = cleanUpStableLength(head);
    assert.ok(n <= head.length);
    const pieces = cleanUpTokenizationSpaces(head.slice(0, n)) + cleanUpTokenizationSpaces(head.slice(n) + tail);
    assert.equal(pieces, cleanUpTokenizationSpaces(head + tail), JSON.stringify([head, tail]));
  }
  assert.equal(cleanUpStableLength("word."), 5);
  assert.equal(cleanUpStableLength("don"), 2, "a trailing n could start n't");
});
