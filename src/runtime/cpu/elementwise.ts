import type { Tensor } from "../tensor.js";
import { f32ToE4m3 } from "../../core/fp8.js";
import { bytes8, elements, f32, i32 } from "./storage.js";

/**
 * A number in [0, 1) from (seed, index) alone: the index mixed with the seed, then a 32-bit avalanche (the
 * "lowbias32" constants), its top 24 bits over 2^24 so the float32 result is exact. The cuda kernel computes the
 * same integers, so both backends draw the same dummy weights (up to the last rounding of low + (high - low) * u).
 */
export function uniformHash(seed: number, index: number): number {
  let x = (Math.imul(index >>> 0, 0x9e3779b1) ^ Math.imul(seed >>> 0, 0x85ebca6b)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 8) / 16777216;
}

export function fill(out: Tensor, value: number): void {
  if (out.dtype === "I32") i32(out).fill(value);
  else f32(out).fill(value);
}

export function fillUniform(out: Tensor, seed: number, low: number, high: number): void {
  if (out.dtype === "F8_E4M3") {
    const bytes = bytes8(out);
    for (let i = 0; i < bytes.length; i++) bytes[i] = f32ToE4m3(low + (high - low) * uniformHash(seed, i));
    return;
  }
  const o = f32(out);
  for (let i = 0; i < o.length; i++) o[i] = low + (high - low) * uniformHash(seed, i);
}

export function copy(dst: Tensor, src: Tensor): void {
  elements(dst).set(elements(src));
}

export function sliceColumns(out: Tensor, x: Tensor, start: number): void {
  const o = f32(out), a = f32(x);
  const rows = x.shape[0], cols = x.shape[1], width = out.shape[1];
  for (let t = 0; t < rows; t++) o.set(a.subarray(t * cols + start, t * cols + start + width), t * width);
}

export function placeColumns(out: Tensor, x: Tensor, start: number): void {
  const o = elements(out), a = elements(x);
  const rows = x.shape[0], width = x.shape[1], cols = out.shape[1];
  for (let t = 0; t < rows; t++) o.set(a.subarray(t * width, (t + 1) * width), t * cols + start);
}

/** Applies `op` with b repeated over a's leading dims (b's shape is a trailing part of a's). */
function broadcast(out: Tensor, a: Tensor, b: Tensor, multiply: boolean): void {
  const o = f32(out), x = f32(a), y = f32(b);
  const n = x.length, m = y.length;
  if (m === 0) return;
  for (let base = 0; base < n; base += m) {
    if (multiply) for (let j = 0; j < m; j++) o[base + j] = x[base + j] * y[j];
    else for (let j = 0; j < m; j++) o[base + j] = x[base + j] + y[j];
  }
}

export function add(out: Tensor, a: Tensor, b: Tensor): void {
  broadcast(out, a, b, false);
}

export function mul(out: Tensor, a: Tensor, b: Tensor): void {
  broadcast(out, a, b, true);
}

export function scaleRows(out: Tensor, x: Tensor, scale: Tensor): void {
  const o = f32(out), a = f32(x), s = f32(scale);
  const rows = s.length;
  const width = rows === 0 ? 0 : a.length / rows;
  for (let t = 0; t < rows; t++) {
    const f = s[t], base = t * width;
    for (let j = 0; j < width; j++) o[base + j] = a[base + j] * f;
  }
}

export function siluAndMul(out: Tensor, x: Tensor): void {
  siluAndMulRows(f32(out), f32(x), x.shape[0], out.shape[1]);
}

/** siluAndMul over plain arrays: o [rows, inter] from a [rows, 2 inter], gate columns first. */
export function siluAndMulRows(o: Float32Array, a: Float32Array, rows: number, inter: number): void {
  for (let t = 0; t < rows; t++) {
    const g = t * 2 * inter, u = g + inter, d = t * inter;
    for (let j = 0; j < inter; j++) {
      const v = a[g + j];
      o[d + j] = (v / (1 + Math.exp(-v))) * a[u + j];
    }
  }
}

export function gelu(out: Tensor, x: Tensor): void {
  const o = f32(out), a = f32(x);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    // gelu(v) = v * Phi(v) = v/2 * erfc(-v/sqrt2): erfc keeps full relative precision far into the negative tail.
    o[i] = 0.5 * v * erfc(-v * Math.SQRT1_2);
  }
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** erfc in float64: Maclaurin series of erf for |x| < 2.5, a continued fraction beyond (both exact to ~1e-15). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    const x2 = x * x;
    let term = x, sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - TWO_OVER_SQRT_PI * sum;
  }
  // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated from the tail.
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const tail = Math.exp(-ax * ax) / (f * 1.7724538509055159);
  return x > 0 ? tail : 2 - tail;
}
