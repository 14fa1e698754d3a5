import { test } from "node:test";
import assert from "node:assert/strict";
import { add, addInPlace } from "../../../src/kernels/add.js";
import { concatRows } from "../../../src/kernels/concat-rows.js";
import { copy } from "../../../src/kernels/copy.js";
import { gelu } from "../../../src/kernels/gelu.js";
import { mul } from "../../../src/kernels/mul.js";
import { scaleRows } from "../../../src/kernels/scale-rows.js";
import { siluAndMul } from "../../../src/kernels/silu-and-mul.js";
import { sliceColumns } from "../../../src/kernels/slice-columns.js";
import { empty } from "../../../src/runtime/creation.js";
import { assertClose, assertIrisError, device, f32Tensor, i32Tensor, randomTensor, read, readInt, rng } from "./helpers.js";

test("siluAndMul: silu of the first half times the second half", async () => {
  const random = rng(30);
  for (const [T, I] of [[1, 1], [3, 7], [5, 64]]) {
    const x = randomTensor([T, 2 * I], random, 4);
    const ref = new Float64Array(T * I);
    for (let t = 0; t < T; t++) for (let j = 0; j < I; j++) {
      const g = x.data[t * 2 * I + j], u = x.data[t * 2 * I + I + j];
      ref[t * I + j] = (g / (1 + Math.exp(-g))) * u;
    }
    assertClose(await read(siluAndMul(x.t)), ref, `siluAndMul ${T}x${I}`);
  }
  assertIrisError(() => siluAndMul(f32Tensor([1, 2, 3], [1, 3])), "INVALID_ARGUMENT", /even/);
});

/** erf by composite Simpson integration of 2/sqrt(pi) e^(-t²): slow, independent of the kernel's series. */
function erfBySimpson(x: number): number {
  const n = 2000, h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return (s * h) / 3 * (2 / Math.sqrt(Math.PI));
}

test("gelu is the exact erf form, accurate in the negative tail too", async () => {
  const values = [-9, -6, -4.2, -3.5, -2.5, -1, -0.3, 0.05, 0.5, 1.7, 2.5, 3.6, 8];
  const x = f32Tensor(values, [values.length]);
  const out = await read(gelu(x));
  const ref = values.map((v) => 0.5 * Math.fround(v) * (1 + erfBySimpson(Math.fround(v) / Math.SQRT2)));
  for (let i = 0; i < values.length; i++) {
    // Per element, relative: catches a cancelling 1 + erf(x) far in the tail. (Simpson's 1 + erf itself
    // cancels below about -6, so there the reference is only good to an absolute 1e-15.)
    const tolerance = Math.abs(ref[i]) * 1e-5 + 1e-14;
    assert.ok(Math.abs(out[i] - ref[i]) <= tolerance, `gelu(${values[i]}) = ${out[i]}, expected ${ref[i]}`);
  }
  const random = rng(31);
  const big = randomTensor([7, 33], random, 5);
  const refBig = Array.from(big.data, (v) => 0.5 * v * (1 + erfBySimpson(v / Math.SQRT2)));
  assertClose(await read(gelu(big.t)), refBig, "gelu random");
});

test("add and mul broadcast b over leading dims; addInPlace is the residual", async () => {
  const random = rng(32);
  const a = randomTensor([3, 4, 5], random), b = randomTensor([4, 5], random), c = randomTensor([3, 4, 5], random);
  const sum = Array.from(a.data, (v, i) => v + b.data[i % 20]);
  const prod = Array.from(a.data, (v, i) => v * b.data[i % 20]);
  assertClose(await read(add(a.t, b.t)), sum, "add broadcast");
  assertClose(await read(mul(a.t, b.t)), prod, "mul broadcast");
  assertClose(await read(add(a.t, c.t)), Array.from(a.data, (v, i) => v + c.data[i]), "add same shape");
  addInPlace(a.t, c.t);
  assertClose(await read(a.t), Array.from(a.data, (v, i) => v + c.data[i]), "addInPlace");
  assertIrisError(() => add(a.t, f32Tensor([1, 2, 3, 4], [4])), "INVALID_ARGUMENT", /trailing/);
  assertIrisError(() => add(b.t, a.t), "INVALID_ARGUMENT", /trailing/);
  assertIrisError(() => add(a.t, b.t, empty(device, [2, 4, 5])), "INVALID_ARGUMENT", /out must have shape/);
  // An output shifted by one row over its input would read rows it already overwrote.
  const buffer = empty(device, [4, 4, 5]);
  assertIrisError(() => add(buffer.narrow(0, 3), b.t, buffer.narrow(1, 3)), "INVALID_ARGUMENT", /overlaps a/);
});

test("scaleRows multiplies each token's row by its factor, also in place", async () => {
  const random = rng(33);
  const x = randomTensor([4, 3, 2], random), s = randomTensor([4], random);
  const ref = Array.from(x.data, (v, i) => v * s.data[Math.floor(i / 6)]);
  assertClose(await read(scaleRows(x.t, s.t)), ref, "scaleRows");
  scaleRows(x.t, s.t, x.t);
  assertClose(await read(x.t), ref, "scaleRows in place");
  assertIrisError(() => scaleRows(x.t, f32Tensor([1, 2, 3], [3])), "INVALID_ARGUMENT", /scale must have shape \[4\]/);
  assertIrisError(() => scaleRows(x.t, i32Tensor([1, 2, 3, 4])), "INVALID_ARGUMENT", /F32/);
});

test("sliceColumns splits a fused projection; copy and concatRows move rows", async () => {
  const random = rng(34);
  const qkv = randomTensor([3, 10], random);
  const k = sliceColumns(qkv.t, 4, 3);
  const expected = [0, 1, 2].flatMap((t) => Array.from(qkv.data.subarray(t * 10 + 4, t * 10 + 7)));
  assert.deepEqual(Array.from(await read(k)), expected);
  assertIrisError(() => sliceColumns(qkv.t, 8, 3), "INVALID_ARGUMENT", /outside/);

  const a = randomTensor([2, 3], random), b = randomTensor([1, 3], random), c = randomTensor([4, 3], random);
  const cat = concatRows([a.t, b.t, c.t]);
  assert.deepEqual(cat.shape, [7, 3]);
  assert.deepEqual(Array.from(await read(cat)), [...a.data, ...b.data, ...c.data]);
  assertIrisError(() => concatRows([a.t, f32Tensor([1, 2], [1, 2])]), "INVALID_ARGUMENT", /parts\[1\]/);
  assertIrisError(() => concatRows([]), "INVALID_ARGUMENT");

  const dst = empty(device, [6]);
  copy(dst, a.t);
  assert.deepEqual(Array.from(await read(dst)), Array.from(a.data));
  const ids = empty(device, [2], "I32");
  copy(ids, i32Tensor([5, -3]));
  assert.deepEqual(Array.from(await readInt(ids)), [5, -3]);
  assertIrisError(() => copy(dst, b.t), "INVALID_ARGUMENT", /elements/);
  assertIrisError(() => copy(ids, f32Tensor([1, 2], [2])), "INVALID_ARGUMENT", /I32/);
});
