/**
 * The output head, vocabulary-parallel under tensor parallelism: each rank multiplies by its block of vocabulary rows
 * (the embedding's own block when tied), the blocks' logits are all-gathered and laid side by side into [B, V], so
 * every rank ends with the whole logits (sampling then runs on rank 0 alone).
 */
import { linear } from "../kernels/linear.js";
import { placeColumns, sliceColumns } from "../kernels/slice-columns.js";
import { empty } from "../runtime/creation.js";
import { SoloCommunicator, type Communicator } from "../runtime/communicator.js";
import type { Tensor } from "../runtime/tensor.js";
import type { Parameters } from "./parameters.js";
import { vocabShard } from "./tensor-parallel.js";

export class LMHead {
  /** [rows, hidden]: this rank's block of the vocabulary. */
  readonly weight: Tensor;

  /** @param tiedTo the embedding parameter the head shares (tie_word_embeddings), or null for its own `name` */
  constructor(params: Parameters, name: string, tiedTo: string | null, private readonly vocabSize: number, hidden: number,
    private readonly comm: Communicator = new SoloCommunicator()) {
    const { start, rows, kept } = vocabShard(vocabSize, comm);
    this.weight = tiedTo !== null
      ? params.tie(name, tiedTo)
      : params.add(name, [rows, hidden], [{ name, rows: kept, shard: { start, extent: vocabSize } }], { padded: true });
    params.declareProduct({ name, inFeatures: hidden, outFeatures: rows, key: `${hidden}x${rows} ${this.weight.dtype}`, forward: (x) => linear(x, this.weight) });
  }

  /** x [B, hidden] → logits [B, vocab] on every rank. */
  forward(x: Tensor): Tensor {
    const local = linear(x, this.weight);
    const { size } = this.comm;
    if (size === 1) return local;
    const B = x.shape[0], rows = this.weight.shape[0];
    const gathered = empty(x.device, [size * B, rows], local.dtype);
    this.comm.allGather(gathered, local);
    const logits = empty(x.device, [B, this.vocabSize], local.dtype);
    for (let r = 0; r < size; r++) {
      const width = Math.min(rows, this.vocabSize - r * rows);
      if (width <= 0) break;
      const block = gathered.narrow(r * B, B);
      placeColumns(logits, width === rows ? block : sliceColumns(block, 0, width), r * rows);
    }
    return logits;
  }
}
