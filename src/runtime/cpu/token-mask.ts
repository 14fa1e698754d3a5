import type { Tensor } from "../tensor.js";
import { checkIndex, f32, i32 } from "./storage.js";

/** Structured output's mask on the cpu: see `Backend.applyTokenMask`. */
export function applyTokenMask(logits: Tensor, bitmask: Tensor, rows: Tensor): void {
  const a = f32(logits), mask = i32(bitmask), r = i32(rows);
  const B = logits.shape[0], V = logits.shape[1], W = bitmask.shape[1];
  for (let m = 0; m < r.length; m++) {
    checkIndex("applyTokenMask", "row", r[m], B);
    const base = r[m] * V, words = m * W;
    for (let t = 0; t < V; t++) if (((mask[words + (t >> 5)] >>> (t & 31)) & 1) === 0) a[base + t] = -Infinity;
  }
}
