/**
 * Llama 4's mixture of experts (model-facts B3): a router picks one expert per token, whose sigmoid score scales
 * the expert's input; a shared SwiGLU expert always runs on the unscaled input and the two outputs add up.
 * The routed experts are stored as stacked x·W matrices ([E, in, out], gate columns before up), not nn.Linear.
 */
import { add } from "../kernels/add.js";
import { moeTop1Sigmoid } from "../kernels/moe.js";
import type { Tensor } from "../runtime/tensor.js";
import { GatedMLP } from "./gated-mlp.js";
import { Linear } from "./linear.js";
import type { Parameters } from "./parameters.js";

export class Top1SigmoidMoE {
  private readonly router: Linear;
  private readonly gateUp: Tensor;
  private readonly down: Tensor;
  private readonly sharedExpert: GatedMLP;

  /** @param prefix the checkpoint prefix holding `router`, `experts` and `shared_expert` (e.g. `...feed_forward`) */
  constructor(params: Parameters, prefix: string, hidden: number, intermediate: number, numExperts: number) {
    this.router = new Linear(params, `${prefix}.router`, hidden, numExperts, { bias: false });
    // The checkpoint names these without ".weight": they are raw parameters, not nn.Linear modules.
    this.gateUp = params.add(`${prefix}.experts.gate_up_proj`, [numExperts, hidden, 2 * intermediate]);
    this.down = params.add(`${prefix}.experts.down_proj`, [numExperts, intermediate, hidden]);
    this.sharedExpert = new GatedMLP(params, `${prefix}.shared_expert`, hidden, intermediate, false);
  }

  forward(x: Tensor): Tensor {
    const routed = moeTop1Sigmoid(x, this.router.forward(x), this.gateUp, this.down);
    return add(this.sharedExpert.forward(x), routed);
  }
}
