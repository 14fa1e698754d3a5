import { test } from "node:test";
import assert from "node:assert/strict";
import { embedding } from "../../../src/kernels/embedding.js";
import { gatherRows } from "../../../src/kernels/gather-rows.js";
import { scatterRows } from "../../../src/kernels/scatter-rows.js";
import { assertIrisError, f32Tensor, i32Tensor, randomTensor, read, readInt, rng } from "./helpers.js";

function rowsOf(data: Float32Array, width: number, index: number[]): number[] {
  return index.flatMap((r) => Array.from(data.subarray(r * width, (r + 1) * width)));
}

test("embedding looks up rows of the table, repeats included", async () => {
  const random = rng(40);
  const table = randomTensor([11, 6], random);
  const ids = [3, 0, 10, 3, 7];
  const out = embedding(i32Tensor(ids), table.t);
  assert.deepEqual(out.shape, [5, 6]);
  assert.deepEqual(Array.from(await read(out)), rowsOf(table.data, 6, ids));
  assert.deepEqual((await read(embedding(i32Tensor([4]), table.t))).length, 6);
  assertIrisError(() => embedding(i32Tensor([11]), table.t), "INVALID_ARGUMENT", /token id 11 is out of range \[0, 11\)/);
  assertIrisError(() => embedding(i32Tensor([-1]), table.t), "INVALID_ARGUMENT", /out of range/);
  assertIrisError(() => embedding(f32Tensor([1], [1]), table.t), "INVALID_ARGUMENT", /ids must be I32/);
});

test("gatherRows permutes rows and an argsort index undoes it", async () => {
  const random = rng(41);
  const x = randomTensor([9, 5], random);
  const perm = [4, 8, 0, 2, 1, 7, 3, 6, 5];
  const permuted = gatherRows(x.t, i32Tensor(perm));
  assert.deepEqual(Array.from(await read(permuted)), rowsOf(x.data, 5, perm));
  const inverse = new Array<number>(9);
  perm.forEach((p, i) => (inverse[p] = i));
  assert.deepEqual(Array.from(await read(gatherRows(permuted, i32Tensor(inverse)))), Array.from(x.data));
  assertIrisError(() => gatherRows(x.t, i32Tensor([9])), "INVALID_ARGUMENT", /out of range/);
  // Integer rows move too (rotary positions follow the window permutation).
  const positions = i32Tensor([10, 11, 20, 21, 30, 31], [3, 2]);
  const moved = gatherRows(positions, i32Tensor([2, 0]));
  assert.equal(moved.dtype, "I32");
  assert.deepEqual(Array.from(await readInt(moved)), [30, 31, 10, 11]);
  assertIrisError(() => gatherRows(x.t.view([45]), i32Tensor([0])), "INVALID_ARGUMENT", /rank 2/);
});

test("scatterRows writes image embeddings into placeholder rows in place", async () => {
  const random = rng(42);
  const text = randomTensor([7, 4], random), image = randomTensor([3, 4], random);
  const rows = [1, 2, 5];
  const result = scatterRows(text.t, i32Tensor(rows), image.t);
  assert.equal(result, text.t);
  const expected = Array.from(text.data);
  rows.forEach((r, n) => expected.splice(r * 4, 4, ...image.data.subarray(n * 4, n * 4 + 4)));
  assert.deepEqual(Array.from(await read(text.t)), expected);
  assertIrisError(() => scatterRows(text.t, i32Tensor([1, 2]), image.t), "INVALID_ARGUMENT", /src must have shape \[2, 4\]/);
  assertIrisError(() => scatterRows(text.t, i32Tensor([0, 1, 7]), image.t), "INVALID_ARGUMENT", /out of range/);
  assert.deepEqual(Array.from(await read(text.t)), expected, "a refused scatter writes nothing");
  assertIrisError(() => scatterRows(text.t, i32Tensor([0]), i32Tensor([1, 2, 3, 4], [1, 4])), "INVALID_ARGUMENT", /src must be F32/);
});
