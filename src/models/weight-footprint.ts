/**
 * A model's weight memory from its config alone, before anything is allocated: the model is built over a census
 * of its parameter declarations (the same constructors that later allocate them), so the count can never drift
 * from what loading needs. Llama 4 Scout (16 experts, 48 layers) comes to about 109B parameters.
 */
import type { ModelConfig } from "../checkpoint/model-config.js";
import { invariant } from "../core/errors.js";
import { numel } from "../core/host-tensor.js";
import { Parameters, type SourceSpec } from "../layers/parameters.js";
import type { Communicator } from "../runtime/communicator.js";
import { cpuDevice } from "../runtime/device.js";
import { Tensor } from "../runtime/tensor.js";
import { createModel } from "./registry.js";

export interface DeclaredWeight {
  readonly name: string;
  readonly shape: readonly number[];
  /** The checkpoint tensors (Hub names) that fill it: several for a fused weight (gate|up). */
  readonly sources: readonly string[];
}

export interface WeightFootprint {
  /** Elements of all weights the model allocates (a tied head counts once). */
  readonly parameters: number;
  /** parameters × bytes per element. */
  readonly bytes: number;
  /** Each allocated weight in declaration order. */
  readonly weights: readonly DeclaredWeight[];
}

/**
 * Records each declaration and hands back a tensor over a storage description with no memory behind it: the
 * model's constructor only keeps these tensors, it never reads or writes them.
 */
class ParameterCensus extends Parameters {
  readonly declared = new Map<string, { tensor: Tensor; sources: readonly string[] }>();

  override add(name: string, shape: readonly number[], sources?: readonly SourceSpec[]): Tensor {
    const tensor = new Tensor(this.device, { dtype: this.dtype, length: numel(shape), alive: false }, shape);
    this.declared.set(name, { tensor, sources: sources ? [...new Set(sources.map((s) => s.name))] : [name] });
    return tensor;
  }

  override tie(_name: string, target: string): Tensor {
    const declared = this.declared.get(target);
    invariant(declared, `${target} is tied to before it is declared`);
    return declared.tensor;
  }
}

/** @param comm a tensor-parallel rank (a `ShapeOnlyCommunicator`): the footprint of that rank's shard */
export function weightFootprint(config: ModelConfig, bytesPerElement: number, comm?: Communicator): WeightFootprint {
  // NOTE: the cpu device only receives the rotary frequency tables (a few hundred floats); a meta device in
  // src/runtime would make even that unnecessary.
  const census = new ParameterCensus(cpuDevice());
  createModel(config, census.device, census, comm);
  const weights = [...census.declared].map(([name, { tensor, sources }]) => ({ name, shape: tensor.shape, sources }));
  const parameters = weights.reduce((sum, w) => sum + numel(w.shape), 0);
  return { parameters, bytes: parameters * bytesPerElement, weights };
}
