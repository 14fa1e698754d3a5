import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../core/half.js";
import type { Tensor } from "../tensor.js";
import { elements, f32, halves } from "./storage.js";

/** Float-to-float conversion through float32, rounding to nearest even as PyTorch does. */
export function cast(out: Tensor, x: Tensor): void {
  if (out.dtype === x.dtype) {
    elements(out).set(elements(x));
    return;
  }
  const widen = x.dtype === "F32" ? null : x.dtype === "BF16" ? bf16ToF32 : f16ToF32;
  const narrow = out.dtype === "F32" ? null : out.dtype === "BF16" ? f32ToBf16 : f32ToF16;
  const src = widen === null ? f32(x) : halves(x);
  const dst = narrow === null ? f32(out) : halves(out);
  for (let i = 0; i < src.length; i++) {
    const value = widen === null ? src[i] : widen(src[i]);
    dst[i] = narrow === null ? value : narrow(value);
  }
}
