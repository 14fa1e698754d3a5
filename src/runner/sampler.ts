/**
 * Turns a step's logits into one token per sampled row. Greedy rows without penalties take the argmax kernel
 * alone; otherwise SGLang's pipeline runs: penalties, stop tokens masked while `minNewTokens` is not reached, then
 * temperature, top-k, top-p and min-p with one uniform draw per row from the request's own generator.
 */
import { argmax } from "../kernels/argmax.js";
import { applyPenalties } from "../kernels/penalties.js";
import { sample } from "../kernels/sample.js";
import { scatterRows } from "../kernels/scatter-rows.js";
import { downloadInt32, fromHost } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import type { RunnerRequest } from "./runner-request.js";

export async function sampleTokens(device: Device, logits: Tensor, rows: readonly RunnerRequest[],
  eosTokenIds: readonly number[]): Promise<Int32Array> {
  const vocab = logits.shape[1];
  const masks = minTokenMasks(rows, eosTokenIds, vocab);
  const simple = masks.length === 0 && rows.every((r) => r.sampling.greedy && !r.hasPenalties);
  if (simple) return downloadInt32(argmax(logits));

  if (rows.some((r) => r.hasPenalties)) applyPenalties(logits, penaltyTensors(device, rows));
  if (masks.length) {
    // Mask through a [B*V, 1] view of the logits: each masked entry is one "row" set to -inf.
    const flat = logits.view([rows.length * vocab, 1]);
    const index = fromHost(device, Int32Array.from(masks), { dtype: "I32" });
    const minusInf = fromHost(device, new Float32Array(masks.length).fill(-Infinity), { shape: [masks.length, 1] });
    scatterRows(flat, index, minusInf);
  }
  const f32 = (values: number[]) => fromHost(device, Float32Array.from(values), { dtype: "F32" });
  const tokens = sample(logits, {
    temperature: f32(rows.map((r) => (r.sampling.greedy ? 0 : r.sampling.temperature))),
    topK: fromHost(device, Int32Array.from(rows.map((r) => Math.min(r.sampling.topK, 2 ** 31 - 1))), { dtype: "I32" }),
    topP: f32(rows.map((r) => r.sampling.topP)),
    minP: f32(rows.map((r) => r.sampling.minP)),
    // Greedy rows draw too, so a request's sequence of draws does not depend on its neighbours.
    uniform: f32(rows.map((r) => r.rng.next())),
  });
  return downloadInt32(tokens);
}

/** Flat indices (row * vocab + token) of stop tokens that may not end a request before its `minNewTokens`. */
function minTokenMasks(rows: readonly RunnerRequest[], eosTokenIds: readonly number[], vocab: number): number[] {
  const out: number[] = [];
  rows.forEach((r, row) => {
    const generated = r.tokens.length - r.promptLength;
    if (generated >= r.sampling.minNewTokens) return;
    const stops = new Set([...(r.sampling.ignoreEos ? [] : eosTokenIds), ...r.sampling.stopTokenIds]);
    for (const token of stops) if (token < vocab) out.push(row * vocab + token);
  });
  return out;
}

function penaltyTensors(device: Device, rows: readonly RunnerRequest[]) {
  const tokenIds: number[] = [];
  const outputCounts: number[] = [];
  const rowStart = [0];
  for (const r of rows) {
    if (r.hasPenalties) {
      // Every distinct token of prompt and output once; the repetition penalty covers both, as in Hugging Face.
      for (const token of r.seenTokens) {
        tokenIds.push(token);
        outputCounts.push(r.outputCounts.get(token) ?? 0);
      }
    }
    rowStart.push(tokenIds.length);
  }
  const i32 = (values: number[]) => fromHost(device, Int32Array.from(values), { dtype: "I32" });
  const f32 = (values: number[]) => fromHost(device, Float32Array.from(values), { dtype: "F32" });
  return {
    tokenIds: i32(tokenIds),
    outputCounts: i32(outputCounts),
    rowStart: i32(rowStart),
    repetition: f32(rows.map((r) => r.sampling.repetitionPenalty)),
    frequency: f32(rows.map((r) => r.sampling.frequencyPenalty)),
    presence: f32(rows.map((r) => r.sampling.presencePenalty)),
  };
}
