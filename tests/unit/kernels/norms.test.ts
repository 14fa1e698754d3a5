import { test } from "node:test";
import assert from "node:assert/strict";
import { layerNorm } from "../../../src/kernels/layer-norm.js";
import { rmsNorm } from "../../../src/kernels/rms-norm.js";
import { softmax } from "../../../src/kernels/softmax.js";
import { assertClose, assertIrisError, f32Tensor, i32Tensor, randomTensor, read, rng } from "./helpers.js";

function rows(data: Float32Array, H: number, fn: (row: Float32Array) => number[]): Float64Array {
  const out = new Float64Array(data.length);
  for (let r = 0; r * H < data.length; r++) out.set(fn(data.subarray(r * H, (r + 1) * H)), r * H);
  return out;
}

function refRms(x: Float32Array, w: Float32Array | null, H: number, eps: number): Float64Array {
  return rows(x, H, (row) => {
    const ms = row.reduce((s, v) => s + v * v, 0) / H;
    return Array.from(row, (v, j) => (v / Math.sqrt(ms + eps)) * (w === null ? 1 : w[j]));
  });
}

test("rmsNorm with a weight, and weightless per head of [T, heads, D]", async () => {
  const random = rng(20);
  for (const [T, H] of [[1, 1], [1, 7], [5, 33], [3, 1280]]) {
    const x = randomTensor([T, H], random, 3), w = randomTensor([H], random);
    assertClose(await read(rmsNorm(x.t, w.t, 1e-6)), refRms(x.data, w.data, H, 1e-6), `rmsNorm ${T}x${H}`);
  }
  const q = randomTensor([3, 4, 10], random, 2);
  const normed = rmsNorm(q.t, null, 1e-5);
  assert.deepEqual(normed.shape, [3, 4, 10]);
  assertClose(await read(normed), refRms(q.data, null, 10, 1e-5), "weightless per head");
});

test("rmsNorm and layerNorm may write in place", async () => {
  const random = rng(21);
  const x = randomTensor([4, 9], random), w = randomTensor([9], random), b = randomTensor([9], random);
  rmsNorm(x.t, w.t, 1e-6, x.t);
  assertClose(await read(x.t), refRms(x.data, w.data, 9, 1e-6), "in place");
  const y = randomTensor([2, 9], random);
  layerNorm(y.t, w.t, b.t, 1e-5, y.t);
  assertClose(await read(y.t), refLayerNorm(y.data, w.data, b.data, 9, 1e-5), "layerNorm in place");
});

function refLayerNorm(x: Float32Array, w: Float32Array, b: Float32Array, H: number, eps: number): Float64Array {
  return rows(x, H, (row) => {
    const mean = row.reduce((s, v) => s + v, 0) / H;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / H;
    return Array.from(row, (v, j) => ((v - mean) / Math.sqrt(variance + eps)) * w[j] + b[j]);
  });
}

test("layerNorm matches the biased-variance reference, also with a large common offset", async () => {
  const random = rng(22);
  for (const [T, H] of [[1, 3], [7, 1408], [2, 17]]) {
    const x = randomTensor([T, H], random, 2), w = randomTensor([H], random), b = randomTensor([H], random);
    assertClose(await read(layerNorm(x.t, w.t, b.t, 1e-5)), refLayerNorm(x.data, w.data, b.data, H, 1e-5), `layerNorm ${T}x${H}`);
  }
  // A mean far larger than the spread: a one-pass E[x²] - mean² would lose the variance.
  const shifted = randomTensor([3, 64], random);
  const data = shifted.data.map((v) => v + 1000);
  const w = randomTensor([64], random), b = randomTensor([64], random);
  assertClose(await read(layerNorm(f32Tensor(data, [3, 64]), w.t, b.t, 1e-5)), refLayerNorm(data, w.data, b.data, 64, 1e-5), "offset");
});

test("softmax over the last dim", async () => {
  const random = rng(23);
  const x = randomTensor([3, 2, 11], random, 8);
  const ref = rows(x.data, 11, (row) => {
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / s);
  });
  assertClose(await read(softmax(x.t)), ref, "softmax");
});

test("norms refuse wrong weight shapes and dtypes", () => {
  const x = f32Tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assertIrisError(() => rmsNorm(x, f32Tensor([1, 2], [2]), 1e-6), "INVALID_ARGUMENT", /weight must have shape \[3\]/);
  assertIrisError(() => rmsNorm(x, null, -1), "INVALID_ARGUMENT", /eps/);
  assertIrisError(() => rmsNorm(i32Tensor([1, 2, 3], [3]), null, 1e-6), "INVALID_ARGUMENT", /float/);
  assertIrisError(() => layerNorm(x, f32Tensor([1, 2, 3], [3]), f32Tensor([1, 2, 3, 4], [4]), 1e-5), "INVALID_ARGUMENT", /bias/);
  assertIrisError(() => layerNorm(x, i32Tensor([1, 2, 3]), f32Tensor([1, 2, 3], [3]), 1e-5), "INVALID_ARGUMENT", /weight must be F32/);
  const buffer = f32Tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3]);
  assertIrisError(() => rmsNorm(buffer.narrow(0, 2), null, 1e-6, buffer.narrow(1, 2)), "INVALID_ARGUMENT", /partly overlaps x/);
});
