import type { RotaryStyle } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectRank, expectShape, sameDevice } from "./check.js";

/**
 * In place: rotates the first 2R dims of every head of x [T, heads, D] by the angles whose cos/sin are F32 [T, R].
 * "neox" pairs (d, d+R) (rotate_half: Qwen); "interleaved" pairs (2m, 2m+1) (complex: Llama 4). Returns x.
 */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor, style: RotaryStyle): Tensor {
  const kernel = "applyRotary";
  const device = sameDevice(kernel, { x, cos, sin });
  expectDType(kernel, "x", x, "float");
  expectRank(kernel, "x", x, 3);
  expectDType(kernel, "cos", cos, "F32");
  expectDType(kernel, "sin", sin, "F32");
  expectShape(kernel, "cos", cos, [x.shape[0], "R"]);
  expectShape(kernel, "sin", sin, cos.shape);
  expectCondition(kernel, 2 * cos.shape[1] <= x.shape[2], `cos/sin rotate ${2 * cos.shape[1]} dims but heads have ${x.shape[2]}`);
  expectCondition(kernel, style === "neox" || style === "interleaved", `style must be "neox" or "interleaved", got ${String(style)}`);
  device.backend.applyRotary(x, cos, sin, style);
  return x;
}
