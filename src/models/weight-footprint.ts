/**
 * A model's weight memory from its config alone, before anything is allocated: the model is built over a census
 * of its parameter declarations (the same constructors that later allocate them), so the count can never drift
 * from what loading needs. Llama 4 Scout (16 experts, 48 layers) comes to about 109B parameters: 217 GB in bf16,
 * about 112 GB with its decoder's matrices in FP8 (one byte each, plus a float32 scale per output channel).
 */
import type { ModelConfig } from "../checkpoint/model-config.js";
import { numel } from "../core/host-tensor.js";
import { Parameters, type WeightQuantization } from "../layers/parameters.js";
import type { Communicator } from "../runtime/communicator.js";
import { cpuDevice } from "../runtime/device.js";
import type { TensorDType } from "../runtime/dtype.js";
import { Tensor } from "../runtime/tensor.js";
import { createModel } from "./registry.js";

export interface DeclaredWeight {
  readonly name: string;
  /** As stored: an FP8 stack of experts is [E, out, in]. */
  readonly shape: readonly number[];
  /** The checkpoint tensors (Hub names) that fill it: several for a fused weight (gate|up). */
  readonly sources: readonly string[];
  /** Whether it is stored in FP8 (with a float32 scale per row). */
  readonly fp8: boolean;
}

export interface WeightFootprint {
  /** Elements of all weights the model allocates (a tied head counts once). */
  readonly parameters: number;
  /** Float weights × bytes per element, FP8 weights × 1 and their scales × 4. */
  readonly bytes: number;
  /** Each allocated weight in declaration order. */
  readonly weights: readonly DeclaredWeight[];
}

/**
 * Hands back tensors over a storage description with no memory behind it: the model's constructor only keeps
 * these tensors, it never reads or writes them.
 */
class ParameterCensus extends Parameters {
  protected override allocate(shape: readonly number[], dtype: TensorDType): Tensor {
    return new Tensor(this.device, { dtype, length: numel(shape), alive: false }, shape);
  }
}

/**
 * @param comm a tensor-parallel rank (a `ShapeOnlyCommunicator`): the footprint of that rank's shard
 * @param quantization "fp8": the decoder's matrices counted at one byte per element plus their row scales
 */
export function weightFootprint(config: ModelConfig, bytesPerElement: number, comm?: Communicator,
  quantization: WeightQuantization = null): WeightFootprint {
  // NOTE: the cpu device only receives the rotary frequency tables (a few hundred floats); a meta device in
  // src/runtime would make even that unnecessary.
  const census = new ParameterCensus(cpuDevice(), cpuDevice().floatDType, quantization);
  createModel(config, census.device, census, comm);
  let bytes = 0;
  const weights = census.all().map((p) => {
    bytes += p.fp8 ? p.tensor.numel + 4 * p.fp8.scale.numel : p.tensor.numel * bytesPerElement;
    return { name: p.name, shape: p.tensor.shape, sources: [...new Set(p.sources.map((s) => s.name))], fp8: p.fp8 !== undefined };
  });
  const parameters = weights.reduce((sum, w) => sum + numel(w.shape), 0);
  return { parameters, bytes, weights };
}
