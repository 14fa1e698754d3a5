/**
 * M-RoPE positions on the worked example of the reference notes (model-facts A3), and placeholder expansion.
 * The fixture prompts are checked in tests/models/qwen2_5_vl/processor-mrope.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isIrisError } from "../../../src/core/errors.js";
import { countOccurrences, expandImageTokenIds, replacePlaceholders } from "../../../src/multimodal/image-placeholders.js";
import { mropePositions } from "../../../src/multimodal/mrope-positions.js";

const IMG = 151655, START = 151652, END = 151653;
const TOKENS = { imageTokenId: IMG, visionStartTokenId: START, spatialMergeSize: 2 };

const row = (positions: Int32Array, r: number, length: number): number[] => Array.from(positions.subarray(r * length, (r + 1) * length));
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

test("worked example: 15 text tokens, a 16x16 merged image, 20 text tokens -> delta -240", () => {
  const ids = [...range(1, 14), START, ...Array(256).fill(IMG), END, ...range(100, 19)];
  const { positions, ropeDelta } = mropePositions(ids, [[1, 32, 32]], TOKENS);
  const L = ids.length;
  assert.equal(L, 291);
  const [t, h, w] = [0, 1, 2].map((r) => row(positions, r, L));
  for (const r of [t, h, w]) assert.deepEqual(r.slice(0, 15), range(0, 15));
  assert.ok(t.slice(15, 271).every((v) => v === 15));
  assert.deepEqual(h.slice(15, 271), range(0, 256).map((i) => 15 + Math.floor(i / 16)));
  assert.deepEqual(w.slice(15, 271), range(0, 256).map((i) => 15 + (i % 16)));
  for (const r of [t, h, w]) assert.deepEqual(r.slice(271), range(31, 20));
  assert.equal(ropeDelta, -240);
});

test("text only: positions 0..L-1 in all rows, delta 0; a non-square image advances by its longer side", () => {
  const text = mropePositions([5, 6, 7], [], TOKENS);
  assert.deepEqual(Array.from(text.positions), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
  assert.equal(text.ropeDelta, 0);
  // grid 1x4x8 -> 2x4 merged tokens; the text after resumes at start + max(2, 4).
  const ids = [START, ...Array(8).fill(IMG), END];
  const { positions, ropeDelta } = mropePositions(ids, [[1, 4, 8]], TOKENS);
  assert.deepEqual(row(positions, 1, 10), [0, 1, 1, 1, 1, 2, 2, 2, 2, 5]);
  assert.deepEqual(row(positions, 2, 10), [0, 1, 2, 3, 4, 1, 2, 3, 4, 5]);
  assert.equal(ropeDelta, 6 - 10);
});

test("M-RoPE refuses grids that do not match the image tokens", () => {
  const ids = [START, ...Array(4).fill(IMG), END];
  assert.throws(() => mropePositions(ids, [], TOKENS), (e: unknown) => isIrisError(e, "IMAGE_TOKEN_MISMATCH"));
  assert.doesNotThrow(() => mropePositions(ids, [[1, 4, 4]], TOKENS));
  assert.throws(() => mropePositions(ids, [[1, 2, 2]], TOKENS), (e: unknown) => isIrisError(e, "IMAGE_TOKEN_MISMATCH"));
  assert.throws(() => mropePositions(ids, [[1, 4, 8]], TOKENS), (e: unknown) => isIrisError(e, "IMAGE_TOKEN_MISMATCH"));
});

test("prompt placeholders: counted, replaced in order, and a count mismatch is IMAGE_TOKEN_MISMATCH", () => {
  const tok = "<|image_pad|>";
  const text = `a${tok}b${tok}c`;
  assert.equal(countOccurrences(text, tok), 2);
  assert.equal(replacePlaceholders(text, tok, ["X", "YY"]), "aXbYYc");
  assert.throws(() => replacePlaceholders(text, tok, ["X"]), (e: unknown) =>
    isIrisError(e, "IMAGE_TOKEN_MISMATCH") && /2 image placeholders <\|image_pad\|> but 1 image was given/.test((e as Error).message));
});

test("tokenized placeholders (SGLang style): each run of image ids is one image, expanded to its token count", () => {
  assert.deepEqual(expandImageTokenIds([1, IMG, 2, IMG, 3], IMG, [3, 1]), [1, IMG, IMG, IMG, 2, IMG, 3]);
  assert.deepEqual(expandImageTokenIds([IMG, IMG, IMG, 9], IMG, [2]), [IMG, IMG, 9]); // an already expanded run
  assert.throws(() => expandImageTokenIds([1, IMG, 2], IMG, [4, 4]), (e: unknown) =>
    isIrisError(e, "IMAGE_TOKEN_MISMATCH") && /input_ids has 1 image placeholder/.test((e as Error).message));
});
