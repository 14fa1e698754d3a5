import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../../src/core/half.js";

test("bf16 rounds to nearest even and round-trips", () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(bf16ToF32(0x3f80), 1);
  // 1 + 2^-8 lies halfway between two bf16 values; ties go to the even mantissa (1.0).
  assert.equal(bf16ToF32(f32ToBf16(1 + 2 ** -8)), 1);
  assert.equal(bf16ToF32(f32ToBf16(1 + 3 * 2 ** -8)), 1 + 2 ** -6);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
});

test("f16 covers normals, subnormals, overflow and ties", () => {
  for (const v of [0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) assert.equal(f16ToF32(f32ToF16(v)), v);
  assert.equal(f16ToF32(f32ToF16(70000)), Infinity);
  assert.equal(f16ToF32(f32ToF16(1 + 2 ** -11)), 1);
  assert.equal(f16ToF32(f32ToF16(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
});
