/**
 * The FP8 reference kernels (Backend.quantizeFp8, linearFp8, moeTop1SigmoidFp8): the math the cuda kernels compute,
 * over typed arrays. Products decode both FP8 operands to float32 (exact) and multiply them with the float32 product
 * of the cpu backend, then apply the per-token and per-channel scales once, as the GPU's epilogue does.
 */
import { e4m3Table, E4M3_MAX, f32ToE4m3 } from "../../core/fp8.js";
import type { Fp8Weight } from "../fp8-weight.js";
import type { Tensor } from "../tensor.js";
import { Scratch } from "./attention-core.js";
import { productNT } from "./matmul.js";
import { eachExpert, siluMulRows } from "./moe-routing.js";
import { bytes8, f32 } from "./storage.js";

/** The smallest scale (the least normal float32): an all-zero row gets it and quantizes to zeros. */
const MIN_SCALE = 2 ** -126;
const TABLE = e4m3Table();

/**
 * Quantizes `rows` rows of `count` values each into dst (row-major [rows, count]) and their scales: element c of row
 * r is src[r * rowStride + c * colStride].
 */
function quantizeRows(dst: Uint8Array, scales: Float32Array, src: Float32Array, rows: number, count: number,
  rowStride: number, colStride: number): void {
  for (let r = 0; r < rows; r++) {
    const base = r * rowStride;
    let amax = 0;
    for (let c = 0; c < count; c++) {
      const a = Math.abs(src[base + c * colStride]);
      if (a > amax) amax = a; // a NaN never wins, as fmaxf on the GPU
    }
    // Doubles rounded to float32 give the correctly rounded float32 quotient, as the GPU's division.
    const scale = Math.max(Math.fround(amax / E4M3_MAX), MIN_SCALE);
    scales[r] = scale;
    for (let c = 0; c < count; c++) dst[r * count + c] = f32ToE4m3(src[base + c * colStride] / scale);
  }
}

export function quantizeFp8(q: Tensor, scale: Tensor, x: Tensor, transpose: boolean): void {
  const dst = bytes8(q), scales = f32(scale), src = f32(x);
  const R = q.shape[q.rank - 2], C = q.shape[q.rank - 1];
  const batches = R * C === 0 ? 0 : q.numel / (R * C);
  for (let b = 0; b < batches; b++) {
    const at = b * R * C;
    quantizeRows(dst.subarray(at, at + R * C), scales.subarray(b * R, (b + 1) * R), src.subarray(at, at + R * C), R, C,
      transpose ? 1 : C, transpose ? R : 1);
  }
}

function decode(bytes: Uint8Array, into: Float32Array): Float32Array {
  for (let i = 0; i < bytes.length; i++) into[i] = TABLE[bytes[i]];
  return into;
}

const scratch = new Scratch();
const X = 0, W = 1;

/** y [T, N] = (xq · wqᵀ) * xScale[t] * wScale[n] (+ bias[n]) over FP8 bytes, as linearFp8 defines it. */
function fp8Product(y: Float32Array, xq: Uint8Array, xScale: Float32Array, wq: Uint8Array, wScale: Float32Array,
  bias: Float32Array | null, T: number, N: number, K: number): void {
  productNT(y, decode(xq, scratch.get(X, T * K)), decode(wq, scratch.get(W, N * K)), T, N, K);
  for (let t = 0; t < T; t++) {
    const sx = xScale[t];
    for (let n = 0; n < N; n++) {
      const scaled = Math.fround(Math.fround(y[t * N + n] * sx) * wScale[n]);
      y[t * N + n] = bias === null ? scaled : scaled + bias[n];
    }
  }
}

export function linearFp8(out: Tensor, x: Tensor, xScale: Tensor | null, weight: Fp8Weight, bias: Tensor | null): void {
  const T = x.shape[0], K = x.shape[1], N = weight.data.shape[0];
  let q: Uint8Array, scales: Float32Array;
  if (xScale === null) { // float x: quantized per token here, as quantizeFp8 does
    q = new Uint8Array(T * K);
    scales = new Float32Array(T);
    quantizeRows(q, scales, f32(x), T, K, K, 1);
  } else {
    q = bytes8(x);
    scales = f32(xScale);
  }
  fp8Product(f32(out), q, scales, bytes8(weight.data), f32(weight.scale), bias === null ? null : f32(bias), T, N, K);
}

const INPUTS = 2, GATE_UP = 3, ACTIVATED = 4, OUTPUTS = 5;

/** Per expert: its tokens' scaled inputs quantized per token, gate|up, silu * up quantized per token, down. */
export function moeTop1SigmoidFp8(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight): void {
  const T = x.shape[0], H = x.shape[1], E = routerLogits.shape[1], I = down.data.shape[2];
  const guBytes = bytes8(gateUp.data), guScale = f32(gateUp.scale), downBytes = bytes8(down.data), downScale = f32(down.scale);
  eachExpert(f32(out), f32(x), f32(routerLogits), T, H, E, (length) => scratch.get(INPUTS, length), (e, inputs, n) => {
    const q = new Uint8Array(n * Math.max(H, I)), qScale = new Float32Array(n);
    quantizeRows(q, qScale, inputs, n, H, H, 1);
    const gu = scratch.get(GATE_UP, n * 2 * I);
    fp8Product(gu, q.subarray(0, n * H), qScale, guBytes.subarray(e * 2 * I * H, (e + 1) * 2 * I * H),
      guScale.subarray(e * 2 * I, (e + 1) * 2 * I), null, n, 2 * I, H);
    const act = scratch.get(ACTIVATED, n * I);
    siluMulRows(act, gu, n, I);
    quantizeRows(q, qScale, act, n, I, I, 1);
    const y = scratch.get(OUTPUTS, n * H);
    fp8Product(y, q.subarray(0, n * I), qScale, downBytes.subarray(e * H * I, (e + 1) * H * I),
      downScale.subarray(e * H, (e + 1) * H), null, n, H, I);
    return y;
  });
}
