/**
 * A weight matrix stored in FP8 E4M3 with one float32 scale per output channel: the weights are data[n, k] * scale[n].
 * Linear layers hold one in place of a float matrix when the model loads with `quantization: "fp8"`; stacked expert
 * weights hold one per expert ([E, N, K] with scales [E, N]).
 */
import type { Tensor } from "./tensor.js";

export interface Fp8Weight {
  /** F8_E4M3 [..., N, K]: output channels as rows (nn.Linear's layout). */
  readonly data: Tensor;
  /** F32 [..., N]: each row's scale. */
  readonly scale: Tensor;
}

/** A linear layer's weight: the float matrix [N, K], or its FP8 form. */
export type LinearWeight = Tensor | Fp8Weight;

export function isFp8Weight(w: LinearWeight): w is Fp8Weight {
  return (w as Fp8Weight).scale !== undefined;
}
