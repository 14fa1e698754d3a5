/** nn.Linear: y = x·Wᵀ + b with the weight [out, in] as checkpoints store it. */
import { linear } from "../kernels/linear.js";
import type { Tensor } from "../runtime/tensor.js";
import type { Parameters } from "./parameters.js";

export interface LinearOptions {
  readonly bias: boolean;
  /**
   * For a fused projection: the checkpoint prefixes whose `.weight`/`.bias` fill consecutive blocks of output rows,
   * with their sizes (e.g. q_proj, k_proj, v_proj into one qkv matrix). Defaults to the layer's own name.
   */
  readonly parts?: readonly { readonly name: string; readonly rows: number }[];
}

export class Linear {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  /** @param name the checkpoint prefix, e.g. `model.layers.0.self_attn.o_proj` */
  constructor(params: Parameters, name: string, inFeatures: number, outFeatures: number, options: LinearOptions) {
    const parts = options.parts;
    this.weight = params.add(`${name}.weight`, [outFeatures, inFeatures], parts?.map((p) => ({ name: `${p.name}.weight`, rows: p.rows })));
    this.bias = options.bias
      ? params.add(`${name}.bias`, [outFeatures], parts?.map((p) => ({ name: `${p.name}.bias`, rows: p.rows })))
      : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
