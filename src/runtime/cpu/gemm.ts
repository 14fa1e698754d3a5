/**
 * Single-threaded float32 matrix products over plain arrays, the hot spot of the cpu backend.
 *
 * Register tiles of 4x4 outputs: each step loads 4 + 4 values for 16 multiply-adds, and V8 keeps the 16
 * accumulators (doubles, so sums are exact to float64) in registers. The k loop is blocked so a 4-row panel of
 * the right operand (4 x KC floats, 4 KB) stays in L1 while MC rows of the left operand (64 KB) stay in L2.
 * Products of fewer than 4 rows (decode) are bound by streaming the weight: they use a 1x4 kernel over the whole
 * k range with two interleaved accumulator sets to hide the add latency.
 */
const KC = 256;
const MC = 64;

/** c[M, N] = a[M, K] · b[N, K]ᵀ; all row-major, offsets 0. */
export function gemmNT(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
  const M4 = M - (M % 4);
  if (M4 > 0) {
    c.fill(0, 0, M4 * N);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const k1 = Math.min(K, k0 + KC);
      for (let i0 = 0; i0 < M4; i0 += MC) {
        const i1 = Math.min(M4, i0 + MC);
        for (let j = 0; j < N; j += 4) {
          if (j + 4 <= N) {
            for (let i = i0; i < i1; i += 4) tileNT4x4(c, a, b, i, j, N, K, k0, k1);
          } else {
            for (let i = i0; i < i1; i++) for (let jj = j; jj < N; jj++) c[i * N + jj] += dot(a, i * K + k0, b, jj * K + k0, k1 - k0);
          }
        }
      }
    }
  }
  for (let i = M4; i < M; i++) rowNT(c, a, b, i, N, K);
}

function tileNT4x4(c: Float32Array, a: Float32Array, b: Float32Array, i: number, j: number, N: number, K: number,
  k0: number, k1: number): void {
  const x0 = i * K, x1 = x0 + K, x2 = x1 + K, x3 = x2 + K;
  const w0 = j * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = k0; k < k1; k++) {
    const p0 = a[x0 + k], p1 = a[x1 + k], p2 = a[x2 + k], p3 = a[x3 + k];
    const q0 = b[w0 + k], q1 = b[w1 + k], q2 = b[w2 + k], q3 = b[w3 + k];
    c00 += p0 * q0; c01 += p0 * q1; c02 += p0 * q2; c03 += p0 * q3;
    c10 += p1 * q0; c11 += p1 * q1; c12 += p1 * q2; c13 += p1 * q3;
    c20 += p2 * q0; c21 += p2 * q1; c22 += p2 * q2; c23 += p2 * q3;
    c30 += p3 * q0; c31 += p3 * q1; c32 += p3 * q2; c33 += p3 * q3;
  }
  let o = i * N + j;
  c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += N;
  c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += N;
  c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += N;
  c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
}

/** One output row against all of b: the decode path, bound by reading b once. */
function rowNT(c: Float32Array, a: Float32Array, b: Float32Array, i: number, N: number, K: number): void {
  const x = i * K;
  const K2 = K - (K % 2);
  let j = 0;
  for (; j + 4 <= N; j += 4) {
    const w0 = j * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (let k = 0; k < K2; k += 2) {
      const p = a[x + k], q = a[x + k + 1];
      s0 += p * b[w0 + k]; s1 += p * b[w1 + k]; s2 += p * b[w2 + k]; s3 += p * b[w3 + k];
      t0 += q * b[w0 + k + 1]; t1 += q * b[w1 + k + 1]; t2 += q * b[w2 + k + 1]; t3 += q * b[w3 + k + 1];
    }
    if (K2 < K) {
      const p = a[x + K2];
      s0 += p * b[w0 + K2]; s1 += p * b[w1 + K2]; s2 += p * b[w2 + K2]; s3 += p * b[w3 + K2];
    }
    const o = i * N + j;
    c[o] = s0 + t0; c[o + 1] = s1 + t1; c[o + 2] = s2 + t2; c[o + 3] = s3 + t3;
  }
  for (; j < N; j++) c[i * N + j] = dot(a, x, b, j * K, K);
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/** c[M, N] = a[M, K] · b[K, N]; all row-major, offsets 0. For weights stored [in, out] and for probs · values. */
export function gemmNN(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  c.fill(0, 0, M4 * N);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const k1 = Math.min(K, k0 + KC);
    for (let i0 = 0; i0 < M4; i0 += MC) {
      const i1 = Math.min(M4, i0 + MC);
      for (let j = 0; j < N4; j += 4) {
        for (let i = i0; i < i1; i += 4) tileNN4x4(c, a, b, i, j, N, K, k0, k1);
      }
    }
    // Columns past the last group of 4 (rare: head dims and widths are multiples of 4).
    for (let i = 0; i < M4 && N4 < N; i++) {
      for (let k = k0; k < k1; k++) {
        const p = a[i * K + k];
        for (let jj = N4; jj < N; jj++) c[i * N + jj] += p * b[k * N + jj];
      }
    }
  }
  for (let i = M4; i < M; i++) rowNN(c, a, b, i, N, K);
}

/** One output row: strips of 8 columns accumulate over all of k in registers (b is read once per row). */
function rowNN(c: Float32Array, a: Float32Array, b: Float32Array, i: number, N: number, K: number): void {
  const x = i * K;
  let j = 0;
  for (; j + 8 <= N; j += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let k = 0, w = j; k < K; k++, w += N) {
      const p = a[x + k];
      s0 += p * b[w]; s1 += p * b[w + 1]; s2 += p * b[w + 2]; s3 += p * b[w + 3];
      s4 += p * b[w + 4]; s5 += p * b[w + 5]; s6 += p * b[w + 6]; s7 += p * b[w + 7];
    }
    const o = i * N + j;
    c[o] = s0; c[o + 1] = s1; c[o + 2] = s2; c[o + 3] = s3; c[o + 4] = s4; c[o + 5] = s5; c[o + 6] = s6; c[o + 7] = s7;
  }
  for (; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[x + k] * b[k * N + j];
    c[i * N + j] = s;
  }
}

function tileNN4x4(c: Float32Array, a: Float32Array, b: Float32Array, i: number, j: number, N: number, K: number,
  k0: number, k1: number): void {
  const x0 = i * K, x1 = x0 + K, x2 = x1 + K, x3 = x2 + K;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = k0; k < k1; k++) {
    const p0 = a[x0 + k], p1 = a[x1 + k], p2 = a[x2 + k], p3 = a[x3 + k];
    const w = k * N + j;
    const q0 = b[w], q1 = b[w + 1], q2 = b[w + 2], q3 = b[w + 3];
    c00 += p0 * q0; c01 += p0 * q1; c02 += p0 * q2; c03 += p0 * q3;
    c10 += p1 * q0; c11 += p1 * q1; c12 += p1 * q2; c13 += p1 * q3;
    c20 += p2 * q0; c21 += p2 * q1; c22 += p2 * q2; c23 += p2 * q3;
    c30 += p3 * q0; c31 += p3 * q1; c32 += p3 * q2; c33 += p3 * q3;
  }
  let o = i * N + j;
  c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += N;
  c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += N;
  c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += N;
  c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
}
