import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, output, sameDevice } from "./check.js";

export interface QuantizedRows {
  /** F8_E4M3 [..., R, C]. */
  readonly q: Tensor;
  /** F32 [..., R]: one scale per row. */
  readonly scale: Tensor;
}

/**
 * FP8 E4M3 rows with one scale per row (Backend.quantizeFp8): x [..., R, C] row by row, or with `transpose` x
 * [..., C, R] column by column (stacked expert weights in the x·W layout, stored as per-expert nn.Linear rows).
 */
export function quantizeFp8(x: Tensor, options: { transpose?: boolean; out?: QuantizedRows } = {}): QuantizedRows {
  const kernel = "quantizeFp8";
  const transpose = options.transpose ?? false;
  const device = sameDevice(kernel, { x, q: options.out?.q, scale: options.out?.scale });
  expectDType(kernel, "x", x, "float");
  expectCondition(kernel, x.rank >= 2, `x must have rank 2 or more, got [${x.shape.join(", ")}]`);
  const lead = x.shape.slice(0, -2);
  const [a, b] = x.shape.slice(-2);
  const [R, C] = transpose ? [b, a] : [a, b];
  const q = output(kernel, device, options.out?.q, [...lead, R, C], "F8_E4M3");
  const scale = output(kernel, device, options.out?.scale, [...lead, R], "F32");
  device.backend.quantizeFp8(q, scale, x, transpose);
  return { q, scale };
}
