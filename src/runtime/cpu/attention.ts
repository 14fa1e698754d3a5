import { IrisError } from "../../core/errors.js";
import type { AttentionOptions, Segments } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { attendGroup, KEYS, Scratch, VALUES } from "./attention-core.js";
import { f32, i32 } from "./storage.js";

const scratch = new Scratch();

/** Copies rows first .. first+count-1 of head `head` of x [T, heads, D] into packed [count, D]. */
export function packHead(dst: Float32Array, x: Float32Array, first: number, count: number, heads: number, head: number,
  D: number): void {
  for (let i = 0; i < count; i++) {
    const src = ((first + i) * heads + head) * D;
    dst.set(x.subarray(src, src + D), i * D);
  }
}

export function attention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, segments: Segments, options: AttentionOptions): void {
  const o = f32(out), qa = f32(q), ka = f32(k), va = f32(v), cu = i32(segments.cuSeqlens);
  const T = q.shape[0], Hq = q.shape[1], Hk = k.shape[1], D = q.shape[2];
  const group = Hq / Hk;
  if (cu[0] !== 0 || cu[cu.length - 1] !== T) {
    throw new IrisError("INVALID_ARGUMENT", `attention: cuSeqlens must run from 0 to ${T}, got ${cu[0]} .. ${cu[cu.length - 1]}`);
  }
  for (let s = 0; s + 1 < cu.length; s++) {
    const first = cu[s], rows = cu[s + 1] - first;
    if (rows < 0) throw new IrisError("INVALID_ARGUMENT", `attention: cuSeqlens must not decrease (segment ${s})`);
    if (rows === 0) continue;
    const range = options.causal
      ? (i: number, b: Int32Array) => { b[0] = 0; b[1] = i + 1; }
      : (_i: number, b: Int32Array) => { b[0] = 0; b[1] = rows; };
    for (let kv = 0; kv < Hk; kv++) {
      const keys = scratch.get(KEYS, rows * D), values = scratch.get(VALUES, rows * D);
      packHead(keys, ka, first, rows, Hk, kv, D);
      packHead(values, va, first, rows, Hk, kv, D);
      attendGroup(o, qa, keys, values, { firstRow: first, rows }, { kv, group, qHeads: Hq, D }, range, options.scale, scratch);
    }
  }
}
