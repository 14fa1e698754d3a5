import { gemmNN, gemmNT } from "./gemm.js";
import { softmaxRow } from "./norms.js";

/** Reusable float buffers, grown on demand, so attention allocates nothing per block. */
export class Scratch {
  private readonly buffers: Float32Array[] = [];

  /** Buffer `slot` with room for at least `length` floats (contents undefined). */
  get(slot: number, length: number): Float32Array {
    const have = this.buffers[slot];
    if (have !== undefined && have.length >= length) return have.subarray(0, length);
    const grown = new Float32Array(Math.max(length, have === undefined ? 0 : have.length * 2));
    this.buffers[slot] = grown;
    return grown.subarray(0, length);
  }
}

/**
 * Attention of m packed query rows q [m, D] against packed keys and values [L, D] of one KV head. Row r sees
 * keys lo[r] .. hi[r]-1. Scores are computed only over the window of keys some row sees, as two matrix products
 * (q·kᵀ, then probs·v), with the softmax in between in float64.
 */
export function attendBlock(out: Float32Array, q: Float32Array, keys: Float32Array, values: Float32Array, m: number,
  D: number, lo: Int32Array, hi: Int32Array, scale: number, scratch: Scratch): void {
  let first = Infinity, last = -Infinity;
  for (let r = 0; r < m; r++) {
    if (lo[r] < first) first = lo[r];
    if (hi[r] > last) last = hi[r];
  }
  const width = last - first;
  if (!(width > 0)) {
    out.fill(0, 0, m * D);
    return;
  }
  const scores = scratch.get(SCORES, m * width);
  gemmNT(scores, q, keys.subarray(first * D, last * D), m, width, D);
  for (let r = 0; r < m; r++) {
    const base = r * width, from = lo[r] - first, to = hi[r] - first;
    for (let j = 0; j < width; j++) scores[base + j] = j >= from && j < to ? scores[base + j] * scale : -Infinity;
    softmaxRow(scores, scores, base, width);
  }
  gemmNN(out, scores, values.subarray(first * D, last * D), m, D, width);
}

/** Scratch slots used by the attention kernels. */
export const KEYS = 0, VALUES = 1, QUERIES = 2, OUTPUTS = 3, SCORES = 4;

/** Rows per query block (all heads of one KV group together), bounding the score buffer to 64 x keys. */
export const BLOCK_ROWS = 64;

/**
 * Runs the query rows of one sequence and one KV head in blocks: gathers q rows (all `group` q heads of the KV head,
 * for positions i0..i1-1), attends, and scatters the results to out [T, Hq, D]. `range(i)` gives the key window
 * [lo, hi) of query i (0-based within the sequence). q's rows are `qRow` elements apart (qHeads x D when packed; the
 * fused q|k|v row when q is read in place).
 */
export function attendGroup(out: Float32Array, q: Float32Array, keys: Float32Array, values: Float32Array,
  seq: { firstRow: number; rows: number }, head: { kv: number; group: number; qHeads: number; D: number; qRow?: number },
  range: (i: number, bounds: Int32Array) => void, scale: number, scratch: Scratch): void {
  const { kv, group, qHeads, D } = head;
  const qRow = head.qRow ?? qHeads * D;
  const perBlock = Math.max(1, Math.floor(BLOCK_ROWS / group));
  const lo = new Int32Array(perBlock * group), hi = new Int32Array(perBlock * group);
  const bounds = new Int32Array(2);
  for (let i0 = 0; i0 < seq.rows; i0 += perBlock) {
    const n = Math.min(perBlock, seq.rows - i0), m = n * group;
    const qs = scratch.get(QUERIES, m * D), os = scratch.get(OUTPUTS, m * D);
    for (let g = 0; g < group; g++) {
      const h = kv * group + g;
      for (let i = 0; i < n; i++) {
        const r = g * n + i, src = (seq.firstRow + i0 + i) * qRow + h * D;
        qs.set(q.subarray(src, src + D), r * D);
        range(i0 + i, bounds);
        lo[r] = bounds[0];
        hi[r] = bounds[1];
      }
    }
    attendBlock(os, qs, keys, values, m, D, lo, hi, scale, scratch);
    for (let g = 0; g < group; g++) {
      const h = kv * group + g;
      for (let i = 0; i < n; i++) {
        const r = g * n + i, dst = ((seq.firstRow + i0 + i) * qHeads + h) * D;
        out.set(os.subarray(r * D, r * D + D), dst);
      }
    }
  }
}
