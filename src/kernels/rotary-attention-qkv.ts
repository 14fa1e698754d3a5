import type { AttentionOptions, RotaryStyle, Segments } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { applyRotaryQK, checkRotary } from "./apply-rotary.js";
import { attention, checkSegments } from "./attention.js";
import { expectCondition, expectNoOverlap, output, sameDevice } from "./check.js";
import { sliceColumns } from "./slice-columns.js";

/**
 * The vision towers' attention from their fused q|k|v projection qkv [T, Hq + 2 Hk, D] (a row's q heads, then its
 * numKvHeads k heads, then its v heads): q and k rotated by cos/sin F32 [T, R] (as `applyRotaryQK`), then
 * `attention` of q, k and v over the segments; returns [T, Hq, D]. Where the backend reads q, k and v in place
 * (`Backend.rotaryAttentionQKV`), q and k are rotated inside qkv and nothing is copied; elsewhere the three are copied
 * apart first. The same values either way; qkv's q and k columns are left rotated or not.
 */
export function rotaryAttentionQKV(qkv: Tensor, numKvHeads: number, cos: Tensor, sin: Tensor, style: RotaryStyle,
  segments: Segments, options: AttentionOptions, out?: Tensor): Tensor {
  const kernel = "rotaryAttentionQKV";
  const device = sameDevice(kernel, { qkv, cuSeqlens: segments.cuSeqlens, out });
  checkRotary(kernel, "qkv", qkv, cos, sin, style);
  checkSegments(kernel, segments, options);
  const [T, heads, D] = qkv.shape, Hk = numKvHeads, Hq = heads - 2 * Hk;
  expectCondition(kernel, Number.isInteger(Hk) && Hk > 0 && Hq > 0 && Hq % Hk === 0,
    `qkv's ${heads} heads must be Hq + 2 Hk with Hq a multiple of Hk = ${numKvHeads}`);
  const result = output(kernel, device, out, [T, Hq, D], qkv.dtype);
  expectNoOverlap(kernel, result, { qkv });
  if (device.backend.rotaryAttentionQKV?.(result, qkv, Hk, cos, sin, style, segments, options) === true) return result;
  // The copies: q, k and v apart, rotated and attended by the kernels that check every other argument.
  const rows = qkv.view([T, heads * D]);
  const q = sliceColumns(rows, 0, Hq * D).view([T, Hq, D]);
  const k = sliceColumns(rows, Hq * D, Hk * D).view([T, Hk, D]);
  const v = sliceColumns(rows, (Hq + Hk) * D, Hk * D).view([T, Hk, D]);
  applyRotaryQK(q, k, cos, sin, style);
  return attention(q, k, v, segments, options, result);
}
