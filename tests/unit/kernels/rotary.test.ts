import { test } from "node:test";
import assert from "node:assert/strict";
import { applyRotary, applyRotaryQK } from "../../../src/kernels/apply-rotary.js";
import { sliceColumns } from "../../../src/kernels/slice-columns.js";
import { ropeCosSin } from "../../../src/kernels/rope-cos-sin.js";
import { assertClose, assertIrisError, f32Tensor, i32Tensor, randomArray, randomTensor, read, rng } from "./helpers.js";

/** HF's form for NeoX style: x * cat(cos, cos) + rotate_half(x) * cat(sin, sin) over the first 2R dims. */
function refNeox(x: Float32Array, cos: Float32Array, sin: Float32Array, T: number, heads: number, D: number, R: number): Float64Array {
  const out = Float64Array.from(x);
  for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) {
    const base = (t * heads + h) * D;
    const head = Array.from(x.subarray(base, base + 2 * R));
    const rotated = [...head.slice(R).map((v) => -v), ...head.slice(0, R)];
    for (let d = 0; d < 2 * R; d++) {
      const c = cos[t * R + (d % R)], s = sin[t * R + (d % R)];
      out[base + d] = head[d] * c + rotated[d] * s;
    }
  }
  return out;
}

/** Llama's form: complex pairs (x[2m] + i x[2m+1]) times e^(i angle_m). */
function refInterleaved(x: Float32Array, cos: Float32Array, sin: Float32Array, T: number, heads: number, D: number, R: number): Float64Array {
  const out = Float64Array.from(x);
  for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) for (let m = 0; m < R; m++) {
    const i = (t * heads + h) * D + 2 * m;
    const [re, im, c, s] = [x[i], x[i + 1], cos[t * R + m], sin[t * R + m]];
    out[i] = re * c - im * s;
    out[i + 1] = re * s + im * c;
  }
  return out;
}

test("applyRotary neox and interleaved match the reference forms, partial rotation included", async () => {
  const random = rng(50);
  for (const [T, heads, D, R] of [[1, 1, 2, 1], [3, 2, 10, 5], [5, 3, 12, 4], [4, 2, 80, 40], [2, 1, 88, 44]]) {
    const angles = randomTensor([T, R], random, 3);
    const cos = f32Tensor(angles.data.map(Math.cos), [T, R]), sin = f32Tensor(angles.data.map(Math.sin), [T, R]);
    const [c, s] = [await read(cos), await read(sin)];
    for (const style of ["neox", "interleaved"] as const) {
      const x = randomTensor([T, heads, D], random);
      applyRotary(x.t, cos, sin, style);
      const ref = style === "neox" ? refNeox(x.data, c, s, T, heads, D, R) : refInterleaved(x.data, c, s, T, heads, D, R);
      assertClose(await read(x.t), ref, `${style} ${T}x${heads}x${D} R=${R}`);
    }
  }
});

test("applyRotaryQK equals applyRotary on q then on k exactly: q and k split from a fused q|k|v, or views at offsets", async () => {
  const random = rng(52);
  for (const [T, Hq, Hk, D, R] of [[7, 4, 4, 80, 40], [3, 2, 2, 88, 44], [4, 3, 3, 12, 4], [5, 4, 2, 16, 8], [2, 1, 3, 10, 5]]) {
    const angles = randomArray(T * R, random, 3);
    const cos = f32Tensor(angles.map(Math.cos), [T, R]), sin = f32Tensor(angles.map(Math.sin), [T, R]);
    for (const style of ["neox", "interleaved"] as const) {
      const fused = randomTensor([T, (Hq + 2 * Hk) * D], random).t;
      const split = [sliceColumns(fused, 0, Hq * D).view([T, Hq, D]), sliceColumns(fused, Hq * D, Hk * D).view([T, Hk, D])];
      // One storage: q its first rows, k the rows after (a view at an offset, as arena tensors are).
      const both = randomTensor([T * Hq * D + T * Hk * D], random).t;
      const views = [both.narrow(0, T * Hq * D).view([T, Hq, D]), both.narrow(T * Hq * D, T * Hk * D).view([T, Hk, D])];
      for (const [q, k] of [split, views]) {
        const [qBefore, kBefore] = [await read(q), await read(k)];
        const [qRef, kRef] = [f32Tensor(qBefore, q.shape), f32Tensor(kBefore, k.shape)];
        applyRotary(qRef, cos, sin, style);
        applyRotary(kRef, cos, sin, style);
        applyRotaryQK(q, k, cos, sin, style);
        const label = `${style} T=${T} Hq=${Hq} Hk=${Hk} D=${D} R=${R}`;
        assert.deepEqual(await read(q), await read(qRef), `q ${label}`);
        assert.deepEqual(await read(k), await read(kRef), `k ${label}`);
        // Not vacuous: both were rotated.
        assert.notDeepEqual(await read(q), qBefore, `q unchanged ${label}`);
        assert.notDeepEqual(await read(k), kBefore, `k unchanged ${label}`);
      }
    }
  }
});

test("ropeCosSin: M-RoPE sections pick the position row of each frequency", async () => {
  const random = rng(51);
  const T = 6, R = 8;
  const positions = Array.from({ length: T * 3 }, () => Math.floor(random() * 5000));
  const invFreq = Float32Array.from({ length: R }, (_, j) => 1 / 10000 ** (j / R));
  const section = [0, 0, 1, 1, 1, 2, 2, 2];
  const { cos, sin } = ropeCosSin(i32Tensor(positions, [T, 3]), f32Tensor(invFreq, [R]), i32Tensor(section));
  assert.deepEqual(cos.shape, [T, R]);
  const refCos: number[] = [], refSin: number[] = [];
  for (let t = 0; t < T; t++) for (let j = 0; j < R; j++) {
    // The contract: the angle is the float32 product, as torch forms it.
    const angle = Math.fround(positions[t * 3 + section[j]] * invFreq[j]);
    refCos.push(Math.cos(angle));
    refSin.push(Math.sin(angle));
  }
  assertClose(await read(cos), refCos, "cos");
  assertClose(await read(sin), refSin, "sin");
  // 1-D: no section, one position column; position 0 is the identity rotation.
  const one = ropeCosSin(i32Tensor([0, 7], [2, 1]), f32Tensor(invFreq, [R]));
  const c1 = await read(one.cos), s1 = await read(one.sin);
  for (let j = 0; j < R; j++) {
    assert.equal(c1[j], 1);
    assert.equal(s1[j], 0);
    assert.ok(Math.abs(c1[R + j] - Math.cos(Math.fround(7 * invFreq[j]))) < 1e-7);
  }
});

test("rotary kernels refuse bad shapes", () => {
  const x = f32Tensor(new Float32Array(2 * 3 * 4).fill(0.5), [2, 3, 4]);
  const cos = f32Tensor([1, 1, 1, 1, 1, 1], [2, 3]);
  assertIrisError(() => applyRotary(x, cos, cos, "neox"), "INVALID_ARGUMENT", /rotate 6 dims/);
  assertIrisError(() => applyRotary(x.view([6, 4]), cos, cos, "neox"), "INVALID_ARGUMENT", /rank 3/);
  const c2 = f32Tensor([1, 1, 1, 1], [2, 2]);
  assertIrisError(() => applyRotary(x, c2, f32Tensor([1, 1], [1, 2]), "neox"), "INVALID_ARGUMENT", /sin/);
  assertIrisError(() => applyRotary(x, c2, c2, "other" as never), "INVALID_ARGUMENT", /style/);
  const k = f32Tensor(new Float32Array(2 * 5 * 4).fill(0.5), [2, 5, 4]);
  applyRotaryQK(x, k, c2, c2, "neox");
  assertIrisError(() => applyRotaryQK(x, k.view([10, 4]), c2, c2, "neox"), "INVALID_ARGUMENT", /k must have rank 3/);
  assertIrisError(() => applyRotaryQK(x, f32Tensor(new Float32Array(2 * 3 * 6), [2, 3, 6]), c2, c2, "neox"), "INVALID_ARGUMENT", /k must have shape/);
  assertIrisError(() => applyRotaryQK(x, x.view([2, 3, 4]), c2, c2, "neox"), "INVALID_ARGUMENT", /overlaps q/);
  assertIrisError(() => applyRotaryQK(x.view([6, 4]), k, c2, c2, "neox"), "INVALID_ARGUMENT", /q must have rank 3/);
  const freq = f32Tensor([1, 0.5], [2]);
  assertIrisError(() => ropeCosSin(i32Tensor([1, 2, 3, 4], [2, 2]), freq), "INVALID_ARGUMENT", /no section/);
  assertIrisError(() => ropeCosSin(i32Tensor([1, 2, 3, 4], [2, 2]), freq, i32Tensor([0, 1, 1])), "INVALID_ARGUMENT", /section/);
  assertIrisError(() => ropeCosSin(i32Tensor([1, 2, 3, 4], [2, 2]), freq, i32Tensor([0, 2])), "INVALID_ARGUMENT", /out of range/);
});
