/**
 * For model tests outside the engine: a step's attention inputs (per sequence: query tokens, keys after the step,
 * pages, slots) as fresh device tensors, and the model's per-token query scales. The runner keeps these in
 * persistent buffers instead (src/runner/step-inputs.ts).
 */
import type { AttentionBatch, LayerKVCache } from "../../src/attention/attention-batch.js";
import type { VisionLanguageModel } from "../../src/models/model.js";
import { fromHost } from "../../src/runtime/creation.js";
import type { Device } from "../../src/runtime/device.js";
import type { Tensor } from "../../src/runtime/tensor.js";

export interface SequenceStep {
  /** Tokens of this sequence computed in this step. */
  readonly queryCount: number;
  /** Keys of the sequence once this step's tokens are stored. */
  readonly kvLen: number;
  /** The sequence's pages in position order (at least ceil(kvLen / pageSize)). */
  readonly pages: ArrayLike<number>;
  /** Cache slot of each of this step's tokens. */
  readonly slots: ArrayLike<number>;
}

export function buildAttentionBatch(device: Device, caches: readonly LayerKVCache[], pageSize: number,
  sequences: readonly SequenceStep[]): AttentionBatch {
  const S = sequences.length;
  const maxPages = Math.max(1, ...sequences.map((s) => Math.ceil(s.kvLen / pageSize)));
  const queryStart = new Int32Array(S + 1);
  const kvLens = new Int32Array(S);
  const pageTable = new Int32Array(S * maxPages);
  const tokens = sequences.reduce((n, s) => n + s.queryCount, 0);
  const slotMapping = new Int32Array(tokens);
  let maxQueryLen = 0;
  let maxKvLen = 0;
  sequences.forEach((s, i) => {
    queryStart[i + 1] = queryStart[i] + s.queryCount;
    kvLens[i] = s.kvLen;
    const used = Math.ceil(s.kvLen / pageSize);
    for (let p = 0; p < used; p++) pageTable[i * maxPages + p] = s.pages[p];
    slotMapping.set(Array.from(s.slots), queryStart[i]);
    maxQueryLen = Math.max(maxQueryLen, s.queryCount);
    maxKvLen = Math.max(maxKvLen, s.kvLen);
  });
  const upload = (data: Int32Array, shape?: number[]) => fromHost(device, data, { dtype: "I32", shape });
  return {
    slotMapping: upload(slotMapping),
    caches,
    meta: {
      queryStart: upload(queryStart),
      kvLens: upload(kvLens),
      pageTable: upload(pageTable, [S, maxPages]),
      pageSize,
      maxQueryLen,
      maxKvLen,
    },
  };
}

/** The model's query scales (F32 [T]) for tokens at these cache positions, or null when it takes none. */
export function queryScales(device: Device, model: VisionLanguageModel, cachePositions: Int32Array): Tensor | null {
  if (model.queryScales === null) return null;
  const out = new Float32Array(cachePositions.length);
  model.queryScales(cachePositions, out);
  return fromHost(device, out, { dtype: "F32" });
}
