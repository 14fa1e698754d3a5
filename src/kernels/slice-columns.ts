import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectRank, output, sameDevice } from "./check.js";

/** out [T, width] = x[:, start .. start+width-1] for x [T, C]: splits fused projections (q|k|v, gate|up). */
export function sliceColumns(x: Tensor, start: number, width: number, out?: Tensor): Tensor {
  const kernel = "sliceColumns";
  const device = sameDevice(kernel, { x, out });
  expectDType(kernel, "x", x, "float");
  expectRank(kernel, "x", x, 2);
  const ok = Number.isInteger(start) && Number.isInteger(width) && start >= 0 && width >= 0 && start + width <= x.shape[1];
  expectCondition(kernel, ok, `columns ${start} .. ${start + width - 1} are outside the ${x.shape[1]} columns of x`);
  const result = output(kernel, device, out, [x.shape[0], width], x.dtype);
  expectNoOverlap(kernel, result, { x });
  device.backend.sliceColumns(result, x, start);
  return result;
}

/** In place: out[:, start .. start+W-1] = x [T, W] for out [T, C] (the inverse of `sliceColumns`); returns out. */
export function placeColumns(out: Tensor, x: Tensor, start: number): Tensor {
  const kernel = "placeColumns";
  sameDevice(kernel, { x, out });
  expectRank(kernel, "x", x, 2);
  expectRank(kernel, "out", out, 2);
  expectCondition(kernel, x.dtype === out.dtype, `x is ${x.dtype} but out is ${out.dtype}`);
  expectCondition(kernel, x.shape[0] === out.shape[0], `x has ${x.shape[0]} rows, out ${out.shape[0]}`);
  const ok = Number.isInteger(start) && start >= 0 && start + x.shape[1] <= out.shape[1];
  expectCondition(kernel, ok, `columns ${start} .. ${start + x.shape[1] - 1} are outside the ${out.shape[1]} columns of out`);
  expectNoOverlap(kernel, out, { x });
  out.device.backend.placeColumns(out, x, start);
  return out;
}
