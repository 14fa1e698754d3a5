import { IrisError } from "../../core/errors.js";
import type { AttentionOptions, RotaryStyle, Segments } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { attendGroup, KEYS, Scratch, VALUES } from "./attention-core.js";
import { rotateHeads } from "./rotary.js";
import { f32, i32 } from "./storage.js";

const scratch = new Scratch();

/** Copies head `head` of rows first .. first+count-1 of x (rows `rowStride` elements apart) into packed [count, D]. */
export function packHead(dst: Float32Array, x: Float32Array, first: number, count: number, rowStride: number, head: number,
  D: number): void {
  for (let i = 0; i < count; i++) {
    const src = (first + i) * rowStride + head * D;
    dst.set(x.subarray(src, src + D), i * D);
  }
}

/** q, k and v [T, H, D] as arrays whose rows are `row` elements apart (packed: H x D). */
interface HeadRows {
  readonly data: Float32Array;
  readonly row: number;
}

export function attention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, segments: Segments, options: AttentionOptions): void {
  const [T, Hq, D] = q.shape, Hk = k.shape[1];
  attendRows(f32(out), { data: f32(q), row: Hq * D }, { data: f32(k), row: Hk * D }, { data: f32(v), row: Hk * D },
    { T, Hq, Hk, D }, segments, options);
}

/**
 * `Backend.rotaryAttentionQKV`: q and k rotated in place in qkv [T, Hq + 2 Hk, D] (every head of a row in order, so
 * a row's q and k heads are its first Hq + Hk), then attention reading q, k and v there: the same float operations as
 * the copies, `applyRotary` and `attention`, so the same values.
 */
export function rotaryAttentionQKV(out: Tensor, qkv: Tensor, numKvHeads: number, cos: Tensor, sin: Tensor, style: RotaryStyle,
  segments: Segments, options: AttentionOptions): boolean {
  const [T, heads, D] = qkv.shape, Hk = numKvHeads, Hq = heads - 2 * Hk, R = cos.shape[1];
  const a = f32(qkv), c = f32(cos), s = f32(sin), row = heads * D;
  for (let t = 0; t < T; t++) rotateHeads(a, t * row, Hq + Hk, D, c, s, t * R, R, style);
  attendRows(f32(out), { data: a, row }, { data: a.subarray(Hq * D), row }, { data: a.subarray((Hq + Hk) * D), row },
    { T, Hq, Hk, D }, segments, options);
  return true;
}

function attendRows(o: Float32Array, q: HeadRows, k: HeadRows, v: HeadRows, shape: { T: number; Hq: number; Hk: number; D: number },
  segments: Segments, options: AttentionOptions): void {
  const { T, Hq, Hk, D } = shape;
  const cu = i32(segments.cuSeqlens);
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
      packHead(keys, k.data, first, rows, k.row, kv, D);
      packHead(values, v.data, first, rows, v.row, kv, D);
      attendGroup(o, q.data, keys, values, { firstRow: first, rows }, { kv, group, qHeads: Hq, D, qRow: q.row }, range,
        options.scale, scratch);
    }
  }
}
