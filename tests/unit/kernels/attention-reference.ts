/**
 * The obviously-correct attention the kernels are checked against: float64, one query at a time, over keys and
 * values [L, Hk, D] with an explicit visibility predicate.
 */
export function referenceAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, rows: number,
  L: number, Hq: number, Hk: number, D: number, scale: number, visible: (i: number, j: number) => boolean): Float64Array {
  const out = new Float64Array(rows * Hq * D);
  const g = Hq / Hk;
  for (let i = 0; i < rows; i++) for (let h = 0; h < Hq; h++) {
    const kv = Math.floor(h / g);
    const scores: number[] = [];
    for (let j = 0; j < L; j++) {
      if (!visible(i, j)) { scores.push(-Infinity); continue; }
      let s = 0;
      for (let d = 0; d < D; d++) s += q[(i * Hq + h) * D + d] * k[(j * Hk + kv) * D + d];
      scores.push(s * scale);
    }
    const max = Math.max(...scores);
    const weights = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - max)));
    const total = weights.reduce((a, b) => a + b, 0);
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let j = 0; j < L; j++) acc += (weights[j] / total) * v[(j * Hk + kv) * D + d];
      out[(i * Hq + h) * D + d] = acc;
    }
  }
  return out;
}
