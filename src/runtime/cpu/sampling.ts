import { IrisError } from "../../core/errors.js";
import { bf16ToF32, f16ToF32 } from "../../core/half.js";
import type { Penalties, SamplingTensors } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { checkIndex, f32, halves, i32 } from "./storage.js";

/** SGLang's threshold below which a temperature means greedy decoding. */
const GREEDY_TEMPERATURE = 1e-6;

function argmaxRow(a: ArrayLike<number>, base: number, V: number, widen: (bits: number) => number = (v) => v): number {
  let best = 0, value = widen(a[base]);
  for (let j = 1; j < V; j++) {
    const x = widen(a[base + j]);
    if (x > value || (value !== value && x === x)) { // a NaN never wins
      value = x;
      best = j;
    }
  }
  return best;
}

/** The first maximum of each row; 16-bit logits (the greedy sampler's, as the model wrote them) widened exactly. */
export function argmax(out: Tensor, logits: Tensor): void {
  const o = i32(out);
  const B = logits.shape[0], V = logits.shape[1];
  if (logits.dtype === "F32") {
    const a = f32(logits);
    for (let r = 0; r < B; r++) o[r] = argmaxRow(a, r * V, V);
    return;
  }
  const a = halves(logits), widen = logits.dtype === "BF16" ? bf16ToF32 : f16ToF32;
  for (let r = 0; r < B; r++) o[r] = argmaxRow(a, r * V, V, widen);
}

export function applyPenalties(logits: Tensor, penalties: Penalties): void {
  const a = f32(logits), ids = i32(penalties.tokenIds), counts = i32(penalties.outputCounts);
  const start = i32(penalties.rowStart), rep = f32(penalties.repetition), freq = f32(penalties.frequency);
  const pres = f32(penalties.presence);
  const B = logits.shape[0], V = logits.shape[1];
  if (start[0] !== 0 || start[B] !== ids.length) {
    throw new IrisError("INVALID_ARGUMENT", `applyPenalties: rowStart must run from 0 to ${ids.length}, got ${start[0]} .. ${start[B]}`);
  }
  for (let r = 0; r < B; r++) {
    for (let e = start[r]; e < start[r + 1]; e++) {
      const id = ids[e], c = counts[e];
      checkIndex("applyPenalties", "token id", id, V);
      let v = a[r * V + id] - (freq[r] * c + (c > 0 ? pres[r] : 0));
      v = v > 0 ? v / rep[r] : v * rep[r];
      a[r * V + id] = v;
    }
  }
}

/** Per-token work arrays of `sample`, kept by the backend instance and grown to the vocabulary once. */
export class SamplingScratch {
  weights = new Float64Array(0);
  kept = new Uint8Array(0);

  ensure(V: number): void {
    if (this.weights.length >= V) return;
    this.weights = new Float64Array(V);
    this.kept = new Uint8Array(V);
  }
}

export function sample(out: Tensor, logits: Tensor, params: SamplingTensors, scratch: SamplingScratch): void {
  const o = i32(out), a = f32(logits), temperature = f32(params.temperature), topK = i32(params.topK);
  const topP = f32(params.topP), minP = f32(params.minP), uniform = f32(params.uniform);
  const B = logits.shape[0], V = logits.shape[1];
  scratch.ensure(V);
  const { weights, kept } = scratch;
  for (let r = 0; r < B; r++) {
    const base = r * V, temp = temperature[r], k = topK[r];
    if (temp < GREEDY_TEMPERATURE || k === 1) {
      o[r] = argmaxRow(a, base, V);
      continue;
    }
    const w = weights;
    const max = a[base + argmaxRow(a, base, V)];
    let total = 0;
    for (let j = 0; j < V; j++) {
      // exp((l - max) / T): the largest weight is exactly 1, so probabilities are weights / total.
      const e = Math.exp((a[base + j] - max) / temp);
      w[j] = e;
      total += e;
    }
    selectKept(w, kept, V, total, k <= 0 || k >= V ? V : k, topP[r], minP[r]);
    let mass = 0;
    for (let j = 0; j < V; j++) if (kept[j]) mass += w[j];
    // Draw in token-id order over the kept set: simple to reproduce on any backend.
    const target = uniform[r] * mass;
    let acc = 0, choice = -1;
    for (let j = 0; j < V; j++) {
      if (!kept[j]) continue;
      choice = j;
      acc += w[j];
      if (acc > target) break;
    }
    o[r] = choice;
  }
}

/**
 * Marks in `kept` the tokens that survive top-k, top-p and min-p. The survivors are a prefix of the tokens sorted
 * by weight (ties to the lower id); to avoid sorting the whole vocabulary, only tokens with a weight >= t are
 * sorted, lowering t until that candidate set provably contains the prefix.
 */
function selectKept(w: Float64Array, kept: Uint8Array, V: number, total: number, k: number, topP: number, minP: number): void {
  const usesTopP = topP < 1, usesMinP = minP > 0;
  if (k >= V && !usesTopP && !usesMinP) {
    kept.fill(1, 0, V);
    return;
  }
  let candidates = new Int32Array(0);
  for (let t = 1 / 16; ; t = t > 1e-300 ? t / 256 : 0) {
    let count = 0, mass = 0;
    for (let j = 0; j < V; j++) if (w[j] >= t) { count++; mass += w[j]; }
    // Enough when: k of them exist, or their mass passes top-p (the next token is then cut), or every token
    // passing min-p is among them, or t reached 0.
    if (count >= k || (usesTopP && mass > topP * total) || (usesMinP && t <= minP) || t === 0) {
      candidates = new Int32Array(count);
      let m = 0;
      for (let j = 0; j < V; j++) if (w[j] >= t) candidates[m++] = j;
      break;
    }
  }
  candidates.sort((x, y) => (w[y] - w[x]) || (x - y));
  kept.fill(0, 0, V);
  let before = 0;
  for (let i = 0; i < candidates.length && i < k; i++) {
    const j = candidates[i];
    if (usesTopP && before > topP * total) break;
    if (usesMinP && w[j] < minP) break;
    kept[j] = 1;
    before += w[j];
  }
}
