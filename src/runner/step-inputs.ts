/**
 * The inputs of a forward step, in device buffers allocated once for the largest step (`maxTokens` tokens of at most
 * `maxSequences` sequences) and refilled through uploads into views: token ids, rotary positions, cache slots, query
 * starts, KV lengths, the rows of the page-table pool, logit rows, per-token query scales, image placements, and
 * the rows whose token comes from the previous step's sampled tokens on the device.
 */
import type { Device } from "../runtime/device.js";
import { StagedBuffer } from "./device-buffers.js";

export interface StepCapacity {
  readonly maxTokens: number;
  readonly maxSequences: number;
  /** Rows of a token's rotary position (3 for M-RoPE). */
  readonly positionRows: number;
  /** Whether the model takes per-token query scales. */
  readonly queryScales: boolean;
}

export class StepInputs {
  readonly tokenIds: StagedBuffer<"I32">;
  readonly positions: StagedBuffer<"I32">;
  readonly slotMapping: StagedBuffer<"I32">;
  readonly queryStart: StagedBuffer<"I32">;
  readonly kvLens: StagedBuffer<"I32">;
  /** The page-table pool row of each sequence. */
  readonly sequenceRows: StagedBuffer<"I32">;
  readonly logitRows: StagedBuffer<"I32">;
  readonly queryScales: StagedBuffer<"F32"> | null;
  /** Token rows that receive image embeddings, and the embedding row each takes from its request's images. */
  readonly imageRows: StagedBuffer<"I32">;
  readonly imageSourceRows: StagedBuffer<"I32">;
  /** Token rows whose id is a token the previous step sampled, and where in its sampled tokens it is. */
  readonly carriedRows: StagedBuffer<"I32">;
  readonly carriedFrom: StagedBuffer<"I32">;
  /** Host only: each token's position in its sequence, for the model's query scales. */
  readonly cachePositions: Int32Array;

  constructor(device: Device, readonly capacity: StepCapacity) {
    const { maxTokens: T, maxSequences: S } = capacity;
    const i32 = (n: number) => new StagedBuffer(device, "I32", n);
    this.tokenIds = i32(T);
    this.positions = i32(T * capacity.positionRows);
    this.slotMapping = i32(T);
    this.queryStart = i32(S + 1);
    this.kvLens = i32(S);
    this.sequenceRows = i32(S);
    // Sampled rows, and prompt rows whose logprobs are asked (at most every token of the step).
    this.logitRows = i32(T);
    this.queryScales = capacity.queryScales ? new StagedBuffer(device, "F32", T) : null;
    this.imageRows = i32(T);
    this.imageSourceRows = i32(T);
    this.carriedRows = i32(S);
    this.carriedFrom = i32(S);
    this.cachePositions = new Int32Array(T);
  }
}

/**
 * Fills rows and sequences `from .. to-1` as padding up to a graph's bucket: one token each, of id 0 at position 0,
 * stored nowhere (slot -1), reading one key of the padding page through `paddingRow`, its logits row its own.
 */
export function padSequences(inp: StepInputs, from: number, to: number, paddingRow: number): void {
  const P = inp.capacity.positionRows;
  inp.tokenIds.host.fill(0, from, to);
  inp.positions.host.fill(0, from * P, to * P);
  inp.slotMapping.host.fill(-1, from, to);
  inp.cachePositions.fill(0, from, to);
  inp.kvLens.host.fill(1, from, to);
  inp.sequenceRows.host.fill(paddingRow, from, to);
  for (let s = from; s < to; s++) {
    inp.queryStart.host[s + 1] = s + 1;
    inp.logitRows.host[s] = s;
  }
}

/**
 * A launch bound from a bucket instead of each step's exact value: the next power of two from 16, at most `cap`, so
 * a kernel's launch configuration (and a captured graph) repeats across steps.
 */
export function launchBound(value: number, cap: number): number {
  // One query per sequence (decode) keeps its exact bound: a larger one launches blocks that find no query.
  if (value <= 1) return value;
  let bound = 16;
  while (bound < value) bound *= 2;
  return Math.max(value, Math.min(bound, cap));
}
