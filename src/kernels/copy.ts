import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectNoOverlap, sameDevice } from "./check.js";

/** dst = src, element for element (same dtype and count; shapes may differ). Returns dst. */
export function copy(dst: Tensor, src: Tensor): Tensor {
  const kernel = "copy";
  const device = sameDevice(kernel, { dst, src });
  expectCondition(kernel, dst.dtype === src.dtype, `dst is ${dst.dtype} but src is ${src.dtype}`);
  expectCondition(kernel, dst.numel === src.numel, `dst has ${dst.numel} elements but src has ${src.numel}`);
  expectNoOverlap(kernel, dst, { src });
  device.backend.copy(dst, src);
  return dst;
}
