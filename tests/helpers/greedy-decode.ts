/**
 * Greedy decoding of one prompt through the paged KV cache, outside the engine: a prefill of the prompt (whole or
 * in pieces), then one token per step, with pages out of order so page boundaries and the page table are exercised. For
 * parity tests of the decode path against the reference's greedy tokens.
 */
import { downloadFloat32, empty, fromHost } from "../../src/runtime/creation.js";
import { getDevice } from "../../src/runtime/device.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import type { VisionLanguageModel } from "../../src/models/model.js";
import { buildAttentionBatch, queryScales } from "./attention-batch.js";

export interface GreedyDecodeOptions {
  readonly steps: number;
  readonly pageSize?: number;
  /** Prefill the prompt in pieces of this many tokens (chunked prefill, as the scheduler does); default: whole. */
  readonly prefillChunk?: number;
  /** Rotary position rows ([positionRows]) of the token at cache position p; defaults to p in every row. */
  readonly positionOf?: (p: number) => readonly number[];
  /**
   * The token fed after step i, given the model's own choice; defaults to that choice. A test can feed the
   * reference's token instead, to stay on the reference's path after a step too close to call.
   */
  readonly feed?: (step: number, predicted: number) => number;
}

export interface GreedyStep {
  /** The first maximum of the step's logits. */
  readonly token: number;
  readonly logits: Float32Array;
}

export async function greedyDecode(model: VisionLanguageModel, promptIds: Int32Array, promptPositions: Int32Array,
  imageEmbeddings: Tensor | null, options: GreedyDecodeOptions): Promise<GreedyStep[]> {
  const device = getDevice("cpu");
  const text = model.config.text;
  const pageSize = options.pageSize ?? 16;
  const rows = model.positionRows;
  const positionOf = options.positionOf ?? ((p: number) => Array.from({ length: rows }, () => p));
  const total = promptIds.length + options.steps;
  const pages = Math.ceil(total / pageSize);
  // Pages in reverse order, so consecutive positions never sit in consecutive pages.
  const pageList = Array.from({ length: pages }, (_, i) => pages - 1 - i);
  const slotOf = (p: number) => pageList[Math.floor(p / pageSize)] * pageSize + (p % pageSize);
  const caches = Array.from({ length: text.numLayers }, () => ({
    k: empty(device, [pages * pageSize, model.kvHeads, text.headDim]),
    v: empty(device, [pages * pageSize, model.kvHeads, text.headDim]),
  }));
  const imageRows = Int32Array.from([...promptIds.keys()].filter((i) => promptIds[i] === model.imageTokenId));

  // Image embedding rows follow the prompt's image tokens in order; a piece of the prompt takes its own run of them.
  const imageRowsBefore = (end: number) => imageRows.filter((r) => r < end).length;

  const run = (start: number, ids: Int32Array, positions: Int32Array): Promise<Float32Array> => {
    const count = ids.length;
    const cachePositions = Int32Array.from({ length: count }, (_, i) => start + i);
    const attention = buildAttentionBatch(device, caches, pageSize, [
      { queryCount: count, kvLen: start + count, pages: pageList, slots: cachePositions.map(slotOf) },
    ]);
    const first = imageRowsBefore(start);
    const pieceImageRows = imageRows.subarray(first, imageRowsBefore(start + count)).map((r) => r - start);
    const images = imageEmbeddings && pieceImageRows.length > 0
      ? {
        rows: fromHost(device, pieceImageRows, { dtype: "I32" }),
        embeddings: imageEmbeddings.narrow(first, pieceImageRows.length),
      }
      : null;
    return downloadFloat32(model.forward({
      inputIds: fromHost(device, ids, { dtype: "I32" }),
      positions: fromHost(device, positions, { dtype: "I32", shape: [count, rows] }),
      queryScales: queryScales(device, model, cachePositions),
      images,
      attention,
      logitRows: fromHost(device, Int32Array.from([count - 1]), { dtype: "I32" }),
    }));
  };

  const steps: GreedyStep[] = [];
  const L = promptIds.length;
  const piece = options.prefillChunk ?? L;
  let logits: Float32Array | null = null;
  for (let start = 0; start < L; start += piece) {
    const end = Math.min(L, start + piece);
    logits = await run(start, promptIds.subarray(start, end), promptPositions.subarray(start * rows, end * rows));
  }
  for (let step = 0; step < options.steps; step++) {
    if (logits === null) throw new Error("greedyDecode needs a non-empty prompt");
    const token = firstArgmax(logits);
    steps.push({ token, logits });
    if (step === options.steps - 1) break;
    const next = options.feed?.(step, token) ?? token;
    const p = L + step;
    logits = await run(p, Int32Array.from([next]), Int32Array.from(positionOf(p)));
  }
  return steps;
}

function firstArgmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
