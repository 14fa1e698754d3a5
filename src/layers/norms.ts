/** RMSNorm and LayerNorm with the weights checkpoints store; statistics in fp32 (the kernels' contract). */
import { layerNorm } from "../kernels/layer-norm.js";
import { rmsNorm } from "../kernels/rms-norm.js";
import type { Tensor } from "../runtime/tensor.js";
import type { Parameters } from "./parameters.js";

export class RMSNorm {
  readonly weight: Tensor;

  constructor(params: Parameters, name: string, size: number, readonly eps: number) {
    this.weight = params.add(`${name}.weight`, [size]);
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

export class LayerNorm {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(params: Parameters, name: string, size: number, readonly eps: number) {
    this.weight = params.add(`${name}.weight`, [size]);
    this.bias = params.add(`${name}.bias`, [size]);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
