import { test } from "node:test";
import { gemmNN, gemmNT } from "../../../src/runtime/cpu/gemm.js";
import { assertClose, randomArray, rng } from "../kernels/helpers.js";

function referenceNT(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[j * K + k];
    c[i * N + j] = s;
  }
  return c;
}

function referenceNN(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
    c[i * N + j] = s;
  }
  return c;
}

// Odd sizes cross every edge: rows and columns not multiples of 4, k past one or more k blocks (256), rows past a
// row block (64).
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 5, 3], [2, 7, 513], [3, 4, 257], [4, 4, 4], [5, 9, 11], [7, 13, 300], [67, 10, 129], [64, 64, 1176],
];

test("gemmNT matches a float64 reference on odd shapes", () => {
  const random = rng(1);
  for (const [M, N, K] of SHAPES) {
    const a = randomArray(M * K, random), b = randomArray(N * K, random);
    const c = new Float32Array(M * N).fill(NaN); // the kernel must overwrite, not accumulate into, c
    gemmNT(c, a, b, M, N, K);
    assertClose(c, referenceNT(a, b, M, N, K), `gemmNT ${M}x${N}x${K}`);
  }
});

test("gemmNN matches a float64 reference on odd shapes", () => {
  const random = rng(2);
  for (const [M, N, K] of SHAPES) {
    const a = randomArray(M * K, random), b = randomArray(K * N, random);
    const c = new Float32Array(M * N).fill(NaN);
    gemmNN(c, a, b, M, N, K);
    assertClose(c, referenceNN(a, b, M, N, K), `gemmNN ${M}x${N}x${K}`);
  }
});
