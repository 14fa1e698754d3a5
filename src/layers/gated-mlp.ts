/**
 * The SwiGLU feed-forward of Qwen and Llama: down(silu(gate(x)) * up(x)). Gate and up are fused into one matrix
 * at load time (gate rows first), so one product feeds the activation (fused with it where the backend can:
 * kernels/linear-silu-and-mul.ts). Under tensor parallelism a rank keeps a block of the intermediate dim: its rows
 * of gate and up, the same columns of down, and the partial
 * outputs are summed by one all-reduce.
 *
 * An intermediate size that is not a multiple of 16 (Qwen2.5-VL's vision MLP: 3420) is padded with zeros to the
 * next one (gate and up rows, down columns): rows of 3420 bf16 values (6,840 bytes) are not 16-byte aligned, which
 * keeps the GPU's matrix products off their fastest kernels; the zero rows add exact zeros (silu(0) * 0 = 0).
 */
import type { Fp8SharedExpert } from "../kernels/moe-fp8-shared.js";
import { SoloCommunicator, type Communicator } from "../runtime/communicator.js";
import { isFp8Weight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";
import { IrisError } from "../core/errors.js";
import { Linear } from "./linear.js";
import type { RMSNorm } from "./norms.js";
import type { Parameters } from "./parameters.js";
import { evenShard } from "./tensor-parallel.js";

/** Elements an intermediate row is padded to a multiple of (16-byte aligned bf16 rows; 16 also serves f32). */
const ALIGNED_INTERMEDIATE = 16;

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
    // Not for quantizable (decoder) MLPs: their sizes are aligned in every supported model, and FP8 zero rows would
    // need scales of their own.
    const stored = quantizable ? shard.size : Math.ceil(shard.size / ALIGNED_INTERMEDIATE) * ALIGNED_INTERMEDIATE;
    const padAfter = stored - shard.size;
    this.gateUp = new Linear(params, `${prefix}.gate_up_proj`, hidden, 2 * stored, {
      bias,
      parts: [{ name: `${prefix}.gate_proj`, rows: shard.size, shard, padAfter }, { name: `${prefix}.up_proj`, rows: shard.size, shard, padAfter }],
      quantizable,
    });
    this.down = new Linear(params, `${prefix}.down_proj`, stored, hidden,
      comm.size > 1 ? { bias, inputShard: shard, quantizable, inputPadding: padAfter } : { bias, quantizable, inputPadding: padAfter });
  }

  forward(x: Tensor): Tensor {
    const out = this.partial(x);
    this.comm.allReduceSum(out);
    return out;
  }

  /**
   * Both projections' FP8 weights where both are FP8 without a bias (a decoder MLP under `quantization: "fp8"`), for
   * a kernel that runs this MLP inside another (Llama 4's shared expert: kernels/moe-fp8-shared.ts); else null.
   */
  fp8Weights(): Fp8SharedExpert | null {
    const [gateUp, down] = [this.gateUp.weight, this.down.weight];
    if (!isFp8Weight(gateUp) || !isFp8Weight(down) || this.gateUp.bias !== null || this.down.bias !== null) return null;
    return { gateUp, down };
  }

  /**
   * residual += this MLP of `norm` of it, the add fused into down where the backend fuses it (a decode step's skinny
   * products). The norm stays a kernel of its own: inside gate|up (rmsNormLinear's gated form) each of its ~5,500
   * blocks repeats it, 27.5 µs against 22.0 + 1.2 apart on the H200 at batch 1 (Qwen2.5-VL-3B). A group of one only:
   * a rank's partial output needs its all-reduce before the add.
   */
  addForwardNormed(residual: Tensor, norm: RMSNorm): void {
    if (this.comm.size > 1) throw new IrisError("INTERNAL", "internal error: addForwardNormed under tensor parallelism");
    this.down.addForward(residual, this.gateUp.forwardSiluAndMul(norm.forward(residual)));
  }

  /** This rank's share of the output, before the all-reduce (the whole output in a group of one). */
  partial(x: Tensor): Tensor {
    return this.down.forward(this.gateUp.forwardSiluAndMul(x));
  }
}
