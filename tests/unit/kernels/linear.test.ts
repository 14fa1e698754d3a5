import { test } from "node:test";
import assert from "node:assert/strict";
import { linear } from "../../../src/kernels/linear.js";
import { linearSiluAndMul } from "../../../src/kernels/linear-silu-and-mul.js";
import { siluAndMul } from "../../../src/kernels/silu-and-mul.js";
import { empty } from "../../../src/runtime/creation.js";
import { assertClose, assertIrisError, device, f32Tensor, i32Tensor, otherDevice, randomTensor, read, rng } from "./helpers.js";

function reference(x: Float32Array, w: Float32Array, b: Float32Array | null, T: number, N: number, K: number): Float64Array {
  const y = new Float64Array(T * N);
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) {
    let s = b === null ? 0 : b[n];
    for (let k = 0; k < K; k++) s += x[t * K + k] * w[n * K + k];
    y[t * N + n] = s;
  }
  return y;
}

test("linear matches x·Wᵀ + b in float64 on odd shapes, with and without bias", async () => {
  const random = rng(10);
  const shapes: [number, number, number][] = [[1, 1, 1], [1, 9, 17], [3, 5, 260], [5, 4, 4], [13, 31, 67], [64, 64, 1176], [1, 257, 300]];
  for (const [T, N, K] of shapes) {
    const x = randomTensor([T, K], random), w = randomTensor([N, K], random), b = randomTensor([N], random);
    const y = linear(x.t, w.t, b.t);
    assert.deepEqual(y.shape, [T, N]);
    assertClose(await read(y), reference(x.data, w.data, b.data, T, N, K), `linear ${T}x${N}x${K} + bias`);
    assertClose(await read(linear(x.t, w.t)), reference(x.data, w.data, null, T, N, K), `linear ${T}x${N}x${K}`);
  }
});

test("linear writes into a given output, also a view of a larger buffer", async () => {
  const random = rng(11);
  const x = randomTensor([3, 8], random), w = randomTensor([6, 8], random);
  const buffer = empty(device, [5, 6]);
  const out = buffer.narrow(2, 3);
  const y = linear(x.t, w.t, null, out);
  assert.equal(y, out);
  assertClose(await read(buffer.narrow(2, 3)), reference(x.data, w.data, null, 3, 6, 8), "into a view");
});

test("linear refuses mismatched shapes, dtypes, devices and aliasing", () => {
  const x = f32Tensor(new Float32Array(6).fill(1), [2, 3]);
  const w = f32Tensor(new Float32Array(12).fill(1), [4, 3]);
  assertIrisError(() => linear(x, f32Tensor(new Float32Array(8).fill(1), [4, 2])), "INVALID_ARGUMENT", /weight must have shape \[N, 3\]/);
  assertIrisError(() => linear(x, w, f32Tensor([1, 2, 3], [3])), "INVALID_ARGUMENT", /bias/);
  assertIrisError(() => linear(i32Tensor([1, 2, 3, 4, 5, 6], [2, 3]), w), "INVALID_ARGUMENT", /float/);
  assertIrisError(() => linear(x.view([6]), w), "INVALID_ARGUMENT", /rank 2/);
  assertIrisError(() => linear(x, f32Tensor(new Float32Array(12).fill(1), [4, 3], otherDevice)), "INVALID_ARGUMENT", /device/);
  assertIrisError(() => linear(x, w, null, empty(device, [2, 5])), "INVALID_ARGUMENT", /out must have shape \[2, 4\]/);
  assertIrisError(() => linear(x, w, null, empty(device, [2, 4], "I32")), "INVALID_ARGUMENT", /out must be F32/);
  const square = f32Tensor(new Float32Array(9).fill(1), [3, 3]);
  const y = f32Tensor(new Float32Array(9).fill(1), [3, 3]);
  assertIrisError(() => linear(y, square, null, y), "INVALID_ARGUMENT", /overlaps/);
});

test("linearSiluAndMul is siluAndMul of linear, through the backend's fusion where it has one, else the two kernels", async () => {
  const random = rng(12);
  const [T, K, I] = [3, 40, 24];
  const x = randomTensor([T, K], random), w = randomTensor([2 * I, K], random), b = randomTensor([2 * I], random);
  const separate = await read(siluAndMul(linear(x.t, w.t, b.t)));
  assert.deepEqual(await read(linearSiluAndMul(x.t, w.t, b.t)), separate, "the cpu backend: the two kernels");
  // A backend with a fused kernel that declines these operands: the two kernels, into the output it was offered.
  const declined: string[] = [];
  device.backend.linearSiluAndMul = (out) => { declined.push(out.shape.join("x")); return false; };
  try {
    assert.deepEqual(await read(linearSiluAndMul(x.t, w.t, b.t)), separate, "declined: the two kernels");
    assert.deepEqual(declined, [`${T}x${I}`]);
  } finally {
    delete device.backend.linearSiluAndMul;
  }
  assertIrisError(() => linearSiluAndMul(x.t, randomTensor([2 * I + 1, K], random).t), "INVALID_ARGUMENT", /even number of rows/);
});
