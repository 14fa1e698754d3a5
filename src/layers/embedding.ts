/** Token embeddings, whose table may also serve as the tied output head. */
import { embedding } from "../kernels/embedding.js";
import type { Tensor } from "../runtime/tensor.js";
import type { Parameters } from "./parameters.js";

export class Embedding {
  readonly table: Tensor;

  constructor(params: Parameters, name: string, vocabSize: number, hidden: number) {
    this.table = params.add(`${name}.weight`, [vocabSize, hidden]);
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.table);
  }
}
