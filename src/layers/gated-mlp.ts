/**
 * The SwiGLU feed-forward of Qwen and Llama: down(silu(gate(x)) * up(x)). Gate and up are fused into one matrix
 * at load time (gate rows first), so one product feeds the `siluAndMul` kernel. Under tensor parallelism a rank
 * keeps a block of the intermediate dim: its rows of gate and up, the same columns of down, and the partial
 * outputs are summed by one all-reduce.
 */
import { siluAndMul } from "../kernels/silu-and-mul.js";
import { SoloCommunicator, type Communicator } from "../runtime/communicator.js";
import type { Tensor } from "../runtime/tensor.js";
import { Linear } from "./linear.js";
import type { Parameters } from "./parameters.js";
import { evenShard } from "./tensor-parallel.js";

export class GatedMLP {
  private readonly gateUp: Linear;
  private readonly down: Linear;

  /**
   * @param prefix the checkpoint prefix holding `gate_proj`, `up_proj` and `down_proj`
   * @param quantizable whether both projections take the model's weight quantization (decoder MLPs)
   */
  constructor(params: Parameters, prefix: string, hidden: number, intermediate: number, bias: boolean,
    private readonly comm: Communicator = new SoloCommunicator(), quantizable = false) {
    const shard = evenShard(intermediate, comm, `${prefix}'s intermediate size`);
    this.gateUp = new Linear(params, `${prefix}.gate_up_proj`, hidden, 2 * shard.size, {
      bias,
      parts: [{ name: `${prefix}.gate_proj`, rows: shard.size, shard }, { name: `${prefix}.up_proj`, rows: shard.size, shard }],
      quantizable,
    });
    this.down = new Linear(params, `${prefix}.down_proj`, shard.size, hidden,
      comm.size > 1 ? { bias, inputShard: shard, quantizable } : { bias, quantizable });
  }

  forward(x: Tensor): Tensor {
    const out = this.partial(x);
    this.comm.allReduceSum(out);
    return out;
  }

  /** This rank's share of the output, before the all-reduce (the whole output in a group of one). */
  partial(x: Tensor): Tensor {
    return this.down.forward(siluAndMul(this.gateUp.forward(x)));
  }
}
