import type { RotaryStyle } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectRank, expectSameFloat, expectShape, sameDevice } from "./check.js";

/**
 * In place: rotates the first 2R dims of every head of x [T, heads, D] by the angles whose cos/sin are F32 [T, R].
 * "neox" pairs (d, d+R) (rotate_half: Qwen); "interleaved" pairs (2m, 2m+1) (complex: Llama 4). Returns x.
 */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor, style: RotaryStyle): Tensor {
  checkRotary("applyRotary", "x", x, cos, sin, style);
  x.device.backend.applyRotary(x, cos, sin, style);
  return x;
}

/**
 * In place: `applyRotary` on q [T, Hq, D] and k [T, Hk, D] with the same angles, in one launch that reads each angle
 * once for both (the vision towers rotate q and k at the same positions).
 */
export function applyRotaryQK(q: Tensor, k: Tensor, cos: Tensor, sin: Tensor, style: RotaryStyle): void {
  const kernel = "applyRotaryQK";
  sameDevice(kernel, { q, k });
  checkRotary(kernel, "q", q, cos, sin, style);
  expectRank(kernel, "k", k, 3);
  expectSameFloat(kernel, ["q", q], { k });
  expectShape(kernel, "k", k, [q.shape[0], "Hk", q.shape[2]]);
  expectNoOverlap(kernel, k, { q });
  q.device.backend.applyRotary(q, cos, sin, style, k);
}

/** x [T, heads, D] and the tables that rotate it (shared with rotary-attention-qkv.ts). */
export function checkRotary(kernel: string, name: string, x: Tensor, cos: Tensor, sin: Tensor, style: RotaryStyle): void {
  sameDevice(kernel, { [name]: x, cos, sin });
  expectDType(kernel, name, x, "float");
  expectRank(kernel, name, x, 3);
  expectDType(kernel, "cos", cos, "F32");
  expectDType(kernel, "sin", sin, "F32");
  expectShape(kernel, "cos", cos, [x.shape[0], "R"]);
  expectShape(kernel, "sin", sin, cos.shape);
  expectCondition(kernel, 2 * cos.shape[1] <= x.shape[2], `cos/sin rotate ${2 * cos.shape[1]} dims but heads have ${x.shape[2]}`);
  expectCondition(kernel, style === "neox" || style === "interleaved", `style must be "neox" or "interleaved", got ${String(style)}`);
}
