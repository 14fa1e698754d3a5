// FP8 E4M3 encoding and decoding (core/fp8.ts) against the format's definition: every byte's value, round trips,
// ties to even at every midpoint, saturation to ±448 and the NaN pattern, as the GPU's satfinite conversion gives.
import assert from "node:assert/strict";
import { test } from "node:test";
import { e4m3ToF32, E4M3_MAX, f32ToE4m3 } from "../../../src/core/fp8.js";

test("decoding: bias 7, subnormals in steps of 2^-9, 448 the largest value, S.1111.111 NaN", () => {
  assert.equal(e4m3ToF32(0x00), 0);
  assert.ok(Object.is(e4m3ToF32(0x80), -0));
  assert.equal(e4m3ToF32(0x01), 2 ** -9);
  assert.equal(e4m3ToF32(0x07), 7 * 2 ** -9);
  assert.equal(e4m3ToF32(0x08), 2 ** -6);
  assert.equal(e4m3ToF32(0x38), 1);
  assert.equal(e4m3ToF32(0x3a), 1.25);
  assert.equal(e4m3ToF32(0x7e), 448);
  assert.equal(e4m3ToF32(0xfe), -448);
  assert.ok(Number.isNaN(e4m3ToF32(0x7f)) && Number.isNaN(e4m3ToF32(0xff)));
  assert.equal(e4m3ToF32(0x77), 240); // 1.875 * 2^7
});

test("every finite byte encodes back to itself", () => {
  for (let b = 0; b < 256; b++) {
    if ((b & 0x7f) === 0x7f) continue;
    assert.equal(f32ToE4m3(e4m3ToF32(b)), b, `byte 0x${b.toString(16)}`);
  }
});

test("midpoints round to the even neighbour, anything off the midpoint to the nearer one", () => {
  for (let b = 0; b < 0x7e; b++) {
    const lo = e4m3ToF32(b), hi = e4m3ToF32(b + 1);
    const mid = (lo + hi) / 2;
    const even = b % 2 === 0 ? b : b + 1;
    assert.equal(f32ToE4m3(mid), even, `midpoint of 0x${b.toString(16)} and 0x${(b + 1).toString(16)}`);
    assert.equal(f32ToE4m3(-mid), 0x80 | even);
    const step = (hi - lo) / 8;
    assert.equal(f32ToE4m3(mid - step), b);
    assert.equal(f32ToE4m3(mid + step), b + 1);
  }
});

test("saturation to ±448 (infinities too), NaN to 0x7f, values below half the smallest subnormal to ±0", () => {
  for (const v of [449, 463.9, 464, 480, 1e6, Infinity]) {
    assert.equal(f32ToE4m3(v), 0x7e, `${v}`);
    assert.equal(f32ToE4m3(-v), 0xfe, `${-v}`);
  }
  assert.equal(f32ToE4m3(E4M3_MAX), 0x7e);
  assert.equal(f32ToE4m3(NaN), 0x7f);
  assert.equal(f32ToE4m3(2 ** -10), 0x00); // the midpoint of 0 and 2^-9: to even (0)
  assert.equal(f32ToE4m3(-(2 ** -11)), 0x80);
  assert.equal(f32ToE4m3(1e-30), 0x00);
});

test("the value is rounded to float32 first, as the GPU converts float32", () => {
  // 1.0625 + 2^-30 is just above the midpoint of 1 and 1.125 as a double, but exactly the midpoint in float32.
  assert.equal(f32ToE4m3(1.0625 + 2 ** -30), 0x38);
  assert.equal(f32ToE4m3(1.0625 + 2 ** -20), 0x39);
});
