// Structured output's token mask on the cpu backend: the bits of each mask row decide which logits of its row stay.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyTokenMask } from "../../../src/kernels/token-mask.js";
import { assertIrisError, f32Tensor, i32Tensor, randomArray, read, rng } from "./helpers.js";

/** A bitmask row allowing exactly `allowed` among V tokens. */
function maskOf(allowed: readonly number[], V: number): number[] {
  const words = new Array<number>(Math.ceil(V / 32)).fill(0);
  for (const t of allowed) words[t >> 5] |= 1 << (t & 31);
  return words;
}

test("applyTokenMask keeps the allowed logits of the listed rows and sets the rest to -inf", async () => {
  const random = rng(3);
  const B = 4, V = 70; // V not a multiple of 32: the last word is partly used
  const values = randomArray(B * V, random, 3);
  const logits = f32Tensor(values, [B, V]);
  const allowed = [[0, 31, 32, 69], [5]];
  const rows = [2, 0];
  applyTokenMask(logits, i32Tensor(allowed.flatMap((a) => maskOf(a, V)), [2, 3]), i32Tensor(rows));
  const out = await read(logits);
  for (let r = 0; r < B; r++) {
    const m = rows.indexOf(r);
    for (let t = 0; t < V; t++) {
      const expected = m < 0 || allowed[m].includes(t) ? Math.fround(values[r * V + t]) : -Infinity;
      assert.equal(out[r * V + t], expected, `row ${r} token ${t}`);
    }
  }
});

test("applyTokenMask: bit 31 (the sign bit of an I32 word) allows its token", async () => {
  const logits = f32Tensor(new Array(64).fill(1), [1, 64]);
  applyTokenMask(logits, i32Tensor(maskOf([31, 63], 64), [1, 2]), i32Tensor([0]));
  const out = await read(logits);
  assert.deepEqual([...out].map((v, t) => (v === 1 ? t : -1)).filter((t) => t >= 0), [31, 63]);
});

test("applyTokenMask refuses masks narrower than the vocabulary, mismatched rows and bad dtypes", () => {
  const logits = f32Tensor(new Array(2 * 40).fill(0), [2, 40]);
  assertIrisError(() => applyTokenMask(logits, i32Tensor([0], [1, 1]), i32Tensor([0])), "INVALID_ARGUMENT", /1 mask words per row cover 32 tokens/);
  assertIrisError(() => applyTokenMask(logits, i32Tensor([0, 0], [1, 2]), i32Tensor([0, 1])), "INVALID_ARGUMENT", /rows has 2 entries for 1 mask rows/);
  assertIrisError(() => applyTokenMask(logits, f32Tensor([0, 0], [1, 2]), i32Tensor([0])), "INVALID_ARGUMENT", /bitmask/);
  assertIrisError(() => applyTokenMask(logits, i32Tensor([0, 0], [1, 2]), i32Tensor([2])), "INVALID_ARGUMENT", /row/);
});
