/**
 * Llama 4's mixture of experts (model-facts B3): a router picks one expert per token, whose sigmoid score scales
 * the expert's input; a shared SwiGLU expert always runs on the unscaled input and the two outputs add up.
 * The routed experts are stored as stacked x·W matrices ([E, in, out], gate columns before up), not nn.Linear; in
 * FP8 they are stored per expert as nn.Linear rows ([E, out, in], one scale per expert and output channel). The
 * router stays in the float type whatever the quantization: its logits pick the expert.
 * Under tensor parallelism every rank holds a slice of every expert along the intermediate dim (its gate and up
 * columns, the same rows of down) and the whole router, so routing needs no communication; the routed and the
 * shared experts' partial outputs are added first and summed over the ranks by one all-reduce. With FP8 experts the
 * shared expert runs inside the routed experts' call (kernels/moe-fp8-shared.ts), folded into their products where the
 * backend can.
 */
import { add } from "../kernels/add.js";
import { moeTop1Sigmoid, moeTop1SigmoidFp8 } from "../kernels/moe.js";
import { moeTop1SigmoidFp8WithShared } from "../kernels/moe-fp8-shared.js";
import { SoloCommunicator, type Communicator } from "../runtime/communicator.js";
import { isFp8Weight, type LinearWeight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";
import { GatedMLP } from "./gated-mlp.js";
import { Linear } from "./linear.js";
import type { Parameters } from "./parameters.js";
import { evenShard } from "./tensor-parallel.js";

export class Top1SigmoidMoE {
  private readonly router: Linear;
  private readonly gateUp: LinearWeight;
  private readonly down: LinearWeight;
  private readonly sharedExpert: GatedMLP;

  /** @param prefix the checkpoint prefix holding `router`, `experts` and `shared_expert` (e.g. `...feed_forward`) */
  constructor(params: Parameters, prefix: string, hidden: number, intermediate: number, numExperts: number,
    private readonly comm: Communicator = new SoloCommunicator()) {
    this.router = new Linear(params, `${prefix}.router`, hidden, numExperts, { bias: false });
    const shard = evenShard(intermediate, comm, `${prefix}'s expert intermediate size`);
    const I = shard.size;
    // The checkpoint names these without ".weight": they are raw parameters, not nn.Linear modules.
    const gateUpName = `${prefix}.experts.gate_up_proj`;
    const gateUpSources = comm.size === 1 ? undefined : [
      { name: gateUpName, rows: I, shard: { start: shard.start, extent: 2 * intermediate } },
      { name: gateUpName, rows: I, shard: { start: intermediate + shard.start, extent: 2 * intermediate } },
    ];
    this.gateUp = params.addMatrix(gateUpName, [numExperts, hidden, 2 * I], gateUpSources, { dim: 2, transposed: true });
    const downName = `${prefix}.experts.down_proj`;
    this.down = params.addMatrix(downName, [numExperts, I, hidden], [{ name: downName, rows: I, shard }], { dim: 1, transposed: true });
    this.sharedExpert = new GatedMLP(params, `${prefix}.shared_expert`, hidden, intermediate, false, comm, true);
  }

  forward(x: Tensor): Tensor {
    const logits = this.router.forward(x);
    const [gateUp, down] = [this.gateUp, this.down];
    const shared = this.sharedExpert.fp8Weights();
    // FP8: the shared expert goes with the routed ones, where the backend folds it into their products (decode on cuda).
    const out = isFp8Weight(gateUp) && isFp8Weight(down)
      ? shared !== null
        ? moeTop1SigmoidFp8WithShared(x, logits, gateUp, down, shared)
        : add(this.sharedExpert.partial(x), moeTop1SigmoidFp8(x, logits, gateUp, down))
      : add(this.sharedExpert.partial(x), moeTop1Sigmoid(x, logits, gateUp as Tensor, down as Tensor));
    this.comm.allReduceSum(out);
    return out;
  }
}
