/**
 * Declarative weights. A layer allocates each of its parameters through a `Parameters` collection, naming the
 * checkpoint tensors that fill it; the loader (models/load-weights.ts) then walks the collection once. Fused
 * parameters (q|k|v, gate|up) name several sources, each filling a block of leading rows, so the checkpoint's
 * separate tensors land in one matrix without a copy on the device.
 */
import { IrisError } from "../core/errors.js";
import { empty } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { TensorDType } from "../runtime/dtype.js";
import type { Tensor } from "../runtime/tensor.js";

/** One checkpoint tensor and the leading rows of the parameter it fills. */
export interface WeightSource {
  /** The tensor's name in the checkpoint (the Hub layout's name; loaders map other layouts onto it). */
  readonly name: string;
  /** First row (index along dim 0) of the parameter this tensor fills. */
  readonly rowOffset: number;
  /** Rows it fills; its element count must equal rows × the product of the parameter's other dims. */
  readonly rows: number;
}

export interface Parameter {
  readonly name: string;
  readonly tensor: Tensor;
  readonly sources: readonly WeightSource[];
}

export class Parameters {
  private readonly byName = new Map<string, Parameter>();

  constructor(readonly device: Device, readonly dtype: TensorDType = device.floatDType) {}

  /**
   * Allocates a parameter of `shape` filled from the checkpoint tensor of the same name, or from `sources` when it
   * fuses several checkpoint tensors (listed in row order; they must cover every row).
   */
  add(name: string, shape: readonly number[], sources?: readonly { name: string; rows: number }[]): Tensor {
    if (this.byName.has(name)) throw new IrisError("INTERNAL", `internal error: parameter ${name} declared twice`);
    let rowOffset = 0;
    const placed = (sources ?? [{ name, rows: shape[0] }]).map((s) => {
      const source = { name: s.name, rowOffset, rows: s.rows };
      rowOffset += s.rows;
      return source;
    });
    if (rowOffset !== shape[0]) {
      throw new IrisError("INTERNAL", `internal error: the sources of ${name} fill ${rowOffset} of its ${shape[0]} rows`);
    }
    const tensor = empty(this.device, shape, this.dtype);
    this.byName.set(name, { name, tensor, sources: placed });
    return tensor;
  }

  /** A parameter that shares another's tensor (tied embeddings): no memory, no load of its own. */
  tie(name: string, target: string): Tensor {
    const parameter = this.byName.get(target);
    if (!parameter) throw new IrisError("INTERNAL", `internal error: ${name} ties to undeclared ${target}`);
    return parameter.tensor;
  }

  all(): Parameter[] {
    return [...this.byName.values()];
  }

  /** Every checkpoint tensor some parameter reads. */
  sourceNames(): Set<string> {
    return new Set(this.all().flatMap((p) => p.sources.map((s) => s.name)));
  }
}
