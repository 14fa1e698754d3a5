/** The logprob kernels on the cpu backend: log-softmax, a per-row column gather, per-row top-k (ties to the lower id). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gatherColumns, logSoftmax, topK } from "../../../src/kernels/logprobs.js";
import { assertIrisError, f32Tensor, i32Tensor, read, readInt } from "./helpers.js";

test("logSoftmax: each row's logs of its softmax, stable for large logits, in place", async () => {
  const x = f32Tensor([1, 2, 3, 1000, 1000, 999], [2, 3]);
  const out = await read(logSoftmax(x, x));
  const expect = (row: number[]) => {
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    return row.map((v) => v - logSum);
  };
  [...expect([1, 2, 3]), ...expect([1000, 1000, 999])].forEach((v, i) => assert.ok(Math.abs(out[i] - v) < 1e-6, `${i}: ${out[i]} vs ${v}`));
});

test("gatherColumns: each row's entries at its own ids; an id outside the row fails", async () => {
  const x = f32Tensor([0, 1, 2, 3, 10, 11, 12, 13], [2, 4]);
  assert.deepEqual([...(await read(gatherColumns(x, i32Tensor([3, 0, 1, 1], [2, 2]))))], [3, 0, 11, 11]);
  assertIrisError(() => gatherColumns(x, i32Tensor([4, 0], [2, 1])));
});

test("topK: largest first, ties to the lower id, per row", async () => {
  const x = f32Tensor([0.5, 2, 2, -1, 7, 0, 7, 3, 1, 1], [2, 5]);
  const { values, ids } = topK(x, 3);
  assert.deepEqual([...(await readInt(ids))], [4, 1, 2, 1, 2, 3]);
  assert.deepEqual([...(await read(values))], [7, 2, 2, 7, 3, 1]);
  assertIrisError(() => topK(x, 6));
});
