/** The logprob kernels of the cpu backend: log-softmax, a per-row gather of columns, and per-row top-k. */
import type { Tensor } from "../tensor.js";
import { checkIndex, f32, i32 } from "./storage.js";

export function logSoftmax(out: Tensor, x: Tensor): void {
  const o = f32(out), a = f32(x);
  const V = x.shape[x.rank - 1], R = a.length / V;
  for (let r = 0; r < R; r++) {
    const base = r * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (a[base + j] > max) max = a[base + j];
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(a[base + j] - max);
    const logSum = max + Math.log(sum);
    for (let j = 0; j < V; j++) o[base + j] = a[base + j] - logSum;
  }
}

export function gatherColumns(out: Tensor, x: Tensor, index: Tensor): void {
  const o = f32(out), a = f32(x), ids = i32(index);
  const R = x.shape[0], V = x.shape[1], G = index.shape[1];
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < G; j++) {
      const id = ids[r * G + j];
      checkIndex("gatherColumns", "index", id, V);
      o[r * G + j] = a[r * V + id];
    }
  }
}

export function topK(values: Tensor, ids: Tensor, x: Tensor): void {
  const v = f32(values), o = i32(ids), a = f32(x);
  const R = x.shape[0], V = x.shape[1], K = values.shape[1];
  // Insertion into a sorted list of K: the rows are vocabulary-wide and K is small (a user's topLogprobsNum).
  const bestValue = new Float64Array(K), bestId = new Int32Array(K);
  for (let r = 0; r < R; r++) {
    let count = 0;
    for (let j = 0; j < V; j++) {
      const value = a[r * V + j];
      if (count === K && !(value > bestValue[K - 1])) continue;
      let at = count < K ? count++ : K - 1;
      while (at > 0 && value > bestValue[at - 1]) {
        bestValue[at] = bestValue[at - 1];
        bestId[at] = bestId[at - 1];
        at--;
      }
      bestValue[at] = value;
      bestId[at] = j;
    }
    for (let k = 0; k < K; k++) {
      v[r * K + k] = bestValue[k];
      o[r * K + k] = bestId[k];
    }
  }
}
