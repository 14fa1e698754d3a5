/**
 * Optional fusions of the contract's matrix products with what surrounds them in a decode step (`Backend` extends
 * this): the activation after a SwiGLU MLP's first product, the norm before a layer's products, the residual add
 * after them. Each computes what its separate kernels compute, the intermediate values rounded to the float type
 * as those kernels store them. Each returns false, having enqueued nothing, where this backend has no fused kernel
 * for these operands; the caller then runs the separate kernels (src/kernels does).
 */
import type { TensorDType } from "./dtype.js";
import type { Tensor } from "./tensor.js";

export interface ProductFusions {
  /**
   * out [T, I] = siluAndMul(linear(x, weight, bias)) for weight [2I, K] (gate rows first), the product's outputs
   * rounded before the activation.
   */
  linearSiluAndMul?(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): boolean;
  /**
   * Whether a model's decode path of norms fused into products (rmsNormLinear) and residual adds fused into them
   * (linearAddResidual) runs fused for activations of `rows` rows of `hidden` values: a model takes that path only
   * where it does (elsewhere the add and the norm fuse with each other instead: addRmsNorm).
   */
  fusesNormedProducts?(dtype: TensorDType, rows: number, hidden: number): boolean;
  /**
   * out = linear(rmsNorm(x, normWeight, eps), weight, bias) for x [T, K], weight [N, K]; with `gated`, weight [2N, K]
   * and out [T, N] = siluAndMul of that product. The norm's output rounded as rmsNorm stores it.
   */
  rmsNormLinear?(out: Tensor, x: Tensor, normWeight: Tensor, eps: number, weight: Tensor, bias: Tensor | null, gated: boolean): boolean;
  /** residual [T, N] += linear(x, weight, bias), the product rounded before the add as the two kernels round it. */
  linearAddResidual?(residual: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): boolean;
}
