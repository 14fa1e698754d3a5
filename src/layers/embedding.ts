/**
 * Token embeddings, whose table may also serve as the tied output head. Under tensor parallelism the vocabulary is
 * split in blocks of rows (vocabulary-parallel): each rank looks up the ids its block holds, zeros for the others,
 * and one all-reduce sums the ranks' rows into every token's embedding.
 */
import { embedding, embeddingShard } from "../kernels/embedding.js";
import { SoloCommunicator, type Communicator } from "../runtime/communicator.js";
import type { Tensor } from "../runtime/tensor.js";
import type { Parameters } from "./parameters.js";
import { vocabShard } from "./tensor-parallel.js";

export class Embedding {
  /** [rows, hidden]: the whole vocabulary, or this rank's block of it (its tail zeros where V does not divide). */
  readonly table: Tensor;
  /** The first token id of the block. */
  readonly start: number;

  constructor(params: Parameters, name: string, vocabSize: number, hidden: number, private readonly comm: Communicator = new SoloCommunicator()) {
    const { start, rows, kept } = vocabShard(vocabSize, comm);
    this.start = start;
    const weight = `${name}.weight`;
    this.table = params.add(weight, [rows, hidden], [{ name: weight, rows: kept, shard: { start, extent: vocabSize } }], { padded: true });
  }

  forward(ids: Tensor): Tensor {
    if (this.comm.size === 1) return embedding(ids, this.table);
    const out = embeddingShard(ids, this.table, this.start);
    this.comm.allReduceSum(out);
    return out;
  }
}
