// The UTF-8 guard of structured output: tokens with bytes that are never UTF-8 (or hold an overlong, surrogate or
// out-of-range pair) leave the grammar's vocabulary, and after a token ending in a narrow lead byte only tokens
// starting with an allowed second byte stay in the mask.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Utf8Guard } from "../../../src/grammar/utf8-guard.js";

/** Bytes written as a byte-level (GPT-2) token: printable Latin-1 bytes as themselves, the rest from U+0100 on. */
function byteLevel(bytes: number[]): string {
  const others: number[] = [];
  for (let b = 0; b < 256; b++) if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) others.push(b);
  return String.fromCodePoint(...bytes.map((b) => (others.includes(b) ? 256 + others.indexOf(b) : b)));
}

const TOKENS: [string, number[] | string][] = [
  ["a", [0x61]], ["lead E0", [0xe0]], ["A2", [0xa2]], ["82", [0x82]], ["E0 82 overlong", [0xe0, 0x82]],
  ["F7 lead", [0xf7, 0xbd]], ["C1", [0xc1]], ["é", [0xc3, 0xa9]], ["special", "<|end|>"], ["space a", [0x20, 0x61]],
];

test("tokens holding bytes that never occur in UTF-8 leave the vocabulary; others stay as they are", () => {
  const tokens = TOKENS.map(([, t]) => (typeof t === "string" ? t : byteLevel(t)));
  const guard = new Utf8Guard(tokens, (id) => TOKENS[id][0] === "special");
  const dropped = TOKENS.filter((_, id) => guard.vocabulary[id] === "").map(([name]) => name);
  assert.deepEqual(dropped, ["E0 82 overlong", "F7 lead", "C1"]);
  assert.equal(guard.vocabulary[8], "<|end|>");
  assert.equal(guard.vocabulary[7], tokens[7]);
});

test("after a token ending in 0xE0 only tokens starting with 0xA0-0xBF stay; after others the mask is unchanged", () => {
  const tokens = TOKENS.map(([, t]) => (typeof t === "string" ? t : byteLevel(t)));
  const guard = new Utf8Guard(tokens, (id) => TOKENS[id][0] === "special");
  const mask = new Int32Array([-1]);
  guard.apply(mask, 1); // "lead E0"
  const allowed = TOKENS.filter((_, id) => (mask[0] >>> id) & 1).map(([name]) => name);
  assert.deepEqual(allowed, ["A2"]);
  const untouched = new Int32Array([-1]);
  guard.apply(untouched, 0);
  guard.apply(untouched, 8);
  assert.equal(untouched[0], -1);
});
