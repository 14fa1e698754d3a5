/**
 * The SwiGLU feed-forward of Qwen and Llama: down(silu(gate(x)) * up(x)). Gate and up are fused into one matrix
 * at load time (gate rows first), so one product feeds the `siluAndMul` kernel.
 */
import { siluAndMul } from "../kernels/silu-and-mul.js";
import type { Tensor } from "../runtime/tensor.js";
import { Linear } from "./linear.js";
import type { Parameters } from "./parameters.js";

export class GatedMLP {
  private readonly gateUp: Linear;
  private readonly down: Linear;

  /** @param prefix the checkpoint prefix holding `gate_proj`, `up_proj` and `down_proj` */
  constructor(params: Parameters, prefix: string, hidden: number, intermediate: number, bias: boolean) {
    this.gateUp = new Linear(params, `${prefix}.gate_up_proj`, hidden, 2 * intermediate, {
      bias,
      parts: [{ name: `${prefix}.gate_proj`, rows: intermediate }, { name: `${prefix}.up_proj`, rows: intermediate }],
    });
    this.down = new Linear(params, `${prefix}.down_proj`, intermediate, hidden, { bias });
  }

  forward(x: Tensor): Tensor {
    return this.down.forward(siluAndMul(this.gateUp.forward(x)));
  }
}
