/**
 * nn.Linear: y = x·Wᵀ + b with the weight [out, in] as checkpoints store it. A layer declared `quantizable` takes
 * the parameters' quantization: with "fp8" its weight is FP8 with per-channel scales and the forward quantizes x per
 * token (kernels/linear-fp8.ts); the model code is the same either way.
 */
import { IrisError } from "../core/errors.js";
import { addInPlace } from "../kernels/add.js";
import { linearAddResidual } from "../kernels/linear-add-residual.js";
import { linear } from "../kernels/linear.js";
import { linearFp8 } from "../kernels/linear-fp8.js";
import { linearSiluAndMul } from "../kernels/linear-silu-and-mul.js";
import { rmsNormLinear } from "../kernels/rms-norm-linear.js";
import { siluAndMul } from "../kernels/silu-and-mul.js";
import { isFp8Weight, type LinearWeight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";
import type { RMSNorm } from "./norms.js";
import type { Parameters, ShardSlice, SourceSpec } from "./parameters.js";

export interface LinearOptions {
  readonly bias: boolean;
  /**
   * For a fused projection: the checkpoint prefixes whose `.weight`/`.bias` fill consecutive blocks of output rows,
   * with their sizes (e.g. q_proj, k_proj, v_proj into one qkv matrix). Defaults to the layer's own name. A part
   * with `shard` keeps only those rows of its checkpoint tensor (a column-parallel rank's block of outputs).
   */
  readonly parts?: readonly SourceSpec[];
  /**
   * Row-parallel (o_proj, down_proj under tensor parallelism): this rank keeps input columns `start ..
   * start+inFeatures-1` of a weight with `extent` columns; its output is a partial sum the caller all-reduces.
   */
  readonly inputShard?: ShardSlice;
  /**
   * Whether the weight takes the model's quantization (decoder projections); biases stay float. A row-parallel
   * rank's FP8 scales cover its own columns of each row.
   */
  readonly quantizable?: boolean;
  /** Input columns after the checkpoint's that stay zero: `inFeatures` counts them (an aligned intermediate size). */
  readonly inputPadding?: number;
}

export class Linear {
  readonly weight: LinearWeight;
  readonly bias: Tensor | null;

  /** @param name the checkpoint prefix, e.g. `model.layers.0.self_attn.o_proj` */
  constructor(params: Parameters, name: string, inFeatures: number, outFeatures: number, options: LinearOptions) {
    const { parts, inputShard, inputPadding = 0 } = options;
    const addWeight = options.quantizable === true ? params.addMatrix.bind(params) : params.add.bind(params);
    const columns = { name: `${name}.weight`, rows: inFeatures - inputPadding, padAfter: inputPadding };
    if (inputShard !== undefined) {
      // A bias would be added once per rank; neither family has one on a row-parallel projection.
      if (options.bias) throw new IrisError("INTERNAL", `internal error: row-parallel ${name} with a bias`);
      this.weight = addWeight(`${name}.weight`, [outFeatures, inFeatures], [{ ...columns, shard: inputShard }], { dim: 1 });
      this.bias = null;
      this.declare(params, name, inFeatures, outFeatures);
      return;
    }
    if (inputPadding > 0 && parts !== undefined) throw new IrisError("INTERNAL", `internal error: ${name} is fused and padded along its input`);
    this.weight = inputPadding > 0
      ? addWeight(`${name}.weight`, [outFeatures, inFeatures], [columns], { dim: 1 })
      : addWeight(`${name}.weight`, [outFeatures, inFeatures], parts?.map((p) => ({ ...p, name: `${p.name}.weight` })));
    this.bias = options.bias ? params.add(`${name}.bias`, [outFeatures], parts?.map((p) => ({ ...p, name: `${p.name}.bias` }))) : null;
    this.declare(params, name, inFeatures, outFeatures);
  }

  forward(x: Tensor): Tensor {
    return isFp8Weight(this.weight) ? linearFp8(x, this.weight, this.bias) : linear(x, this.weight, this.bias);
  }

  /** A fused gate|up layer's output through SwiGLU's activation (gated-mlp.ts): silu(gate) * up, [T, out / 2]. */
  forwardSiluAndMul(x: Tensor): Tensor {
    return isFp8Weight(this.weight) ? siluAndMul(linearFp8(x, this.weight, this.bias)) : linearSiluAndMul(x, this.weight, this.bias);
  }

  /**
   * This layer over `norm` of x, in one kernel where the backend fuses the norm into the product (decode's skinny
   * products); an FP8 layer runs the norm apart.
   */
  forwardNormed(x: Tensor, norm: RMSNorm): Tensor {
    return isFp8Weight(this.weight) ? this.forward(norm.forward(x)) : rmsNormLinear(x, norm.weight, norm.eps, this.weight, this.bias);
  }

  /** residual += this layer's output for x, in one kernel where the backend fuses the add into the product. */
  addForward(residual: Tensor, x: Tensor): void {
    if (isFp8Weight(this.weight)) addInPlace(residual, this.forward(x));
    else linearAddResidual(residual, x, this.weight, this.bias);
  }

  private declare(params: Parameters, name: string, inFeatures: number, outFeatures: number): void {
    const data = isFp8Weight(this.weight) ? this.weight.data : this.weight;
    const key = `${inFeatures}x${outFeatures} ${data.dtype}${this.bias === null ? "" : ` bias ${this.bias.dtype}`}`;
    params.declareProduct({ name, inFeatures, outFeatures, key, forward: (x) => this.forward(x) });
  }
}
