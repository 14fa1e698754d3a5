/**
 * How a tensor-parallel rank divides a layer (Megatron-LM's scheme, as SGLang and vLLM run it): projections that
 * widen (q/k/v, gate/up) keep a block of output rows, projections that narrow (o, down) keep the matching block
 * of input columns, so each rank computes its heads or its part of the intermediate alone, and one all-reduce per
 * narrowing projection sums the partial outputs. A group of one keeps everything and never communicates.
 */
import type { Communicator } from "../runtime/communicator.js";
import { IrisError } from "../core/errors.js";
import type { ShardSlice } from "./parameters.js";

/** This rank's block of `total` indices split evenly: `what` must divide by the group size. */
export function evenShard(total: number, comm: Communicator, what: string): ShardSlice & { readonly size: number } {
  if (total % comm.size !== 0) {
    throw new IrisError("CONFIG_INVALID", `tensor parallelism: ${what} (${total}) does not divide among ${comm.size} ranks`);
  }
  const size = total / comm.size;
  return { start: comm.rank * size, size, extent: total };
}

/** The attention heads one rank runs, and the KV heads they read. */
export interface HeadShard {
  readonly heads: number;
  readonly headStart: number;
  readonly kvHeads: number;
  readonly kvHeadStart: number;
}

/**
 * Query heads are divided evenly. KV heads are divided too where there are at least as many as ranks; where there
 * are fewer, each KV head is replicated on size / numKvHeads ranks (the ranks whose query heads read it), so every
 * rank holds exactly one.
 */
export function headShard(numHeads: number, numKvHeads: number, comm: Communicator): HeadShard {
  const { size, rank } = comm;
  if (numHeads % size !== 0) throw new IrisError("CONFIG_INVALID", `tensor parallelism: ${numHeads} attention heads do not divide among ${size} ranks`);
  const heads = numHeads / size;
  if (numKvHeads >= size) {
    if (numKvHeads % size !== 0) throw new IrisError("CONFIG_INVALID", `tensor parallelism: ${numKvHeads} KV heads do not divide among ${size} ranks`);
    const kvHeads = numKvHeads / size;
    return { heads, headStart: rank * heads, kvHeads, kvHeadStart: rank * kvHeads };
  }
  if (size % numKvHeads !== 0) {
    throw new IrisError("CONFIG_INVALID", `tensor parallelism: ${size} ranks cannot share ${numKvHeads} KV heads evenly (replicating them needs the rank count to be a multiple)`);
  }
  return { heads, headStart: rank * heads, kvHeads: 1, kvHeadStart: Math.floor((rank * numKvHeads) / size) };
}

/** A vocabulary split in blocks of ceil(V / size) rows: the last rank's block may be short (its tail padded). */
export function vocabShard(vocabSize: number, comm: Communicator): { readonly start: number; readonly rows: number; readonly kept: number } {
  const rows = Math.ceil(vocabSize / comm.size);
  const start = comm.rank * rows;
  return { start, rows, kept: Math.max(0, Math.min(rows, vocabSize - start)) };
}
