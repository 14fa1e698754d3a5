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

/**
 * A tensor-parallel rank's part of a checkpoint tensor: indices `start .. start+rows-1` along the source's `dim` of a
 * tensor that has `extent` there (the rows of a column-parallel weight, the columns of a row-parallel one).
 */
export interface ShardSlice {
  readonly start: number;
  readonly extent: number;
}

/** A checkpoint tensor as a layer names it: the indices it fills along the parameter's `dim`, and its shard if any. */
export interface SourceSpec {
  readonly name: string;
  readonly rows: number;
  readonly shard?: ShardSlice;
}

/** One checkpoint tensor and the block of the parameter it fills, along dim `dim` (0: rows). */
export interface WeightSource {
  /** The tensor's name in the checkpoint (the Hub layout's name; loaders map other layouts onto it). */
  readonly name: string;
  readonly dim: number;
  /** First index along `dim` of the parameter this tensor fills. */
  readonly rowOffset: number;
  /** Indices it fills along `dim`. */
  readonly rows: number;
  /** The rank's slice of the checkpoint tensor; undefined: the whole tensor. */
  readonly shard?: ShardSlice;
}

export interface Parameter {
  readonly name: string;
  readonly tensor: Tensor;
  readonly sources: readonly WeightSource[];
  /** The sources cover fewer indices than the parameter has; the rest is zeros (a padded vocabulary shard). */
  readonly padded: boolean;
}

export interface AddOptions {
  /** The dim the sources fill in turn and are sliced along (default 0). */
  readonly dim?: number;
  /** The sources may cover fewer indices than `shape[dim]`; the loader zeroes the rest. */
  readonly padded?: boolean;
}

export class Parameters {
  private readonly byName = new Map<string, Parameter>();

  constructor(readonly device: Device, readonly dtype: TensorDType = device.floatDType) {}

  /**
   * Allocates a parameter of `shape` filled from the checkpoint tensor of the same name, or from `sources` when it
   * fuses several checkpoint tensors or keeps a shard of one (listed in order along `options.dim`; they must cover
   * every index unless `options.padded`).
   */
  add(name: string, shape: readonly number[], sources?: readonly SourceSpec[], options: AddOptions = {}): Tensor {
    if (this.byName.has(name)) throw new IrisError("INTERNAL", `internal error: parameter ${name} declared twice`);
    const dim = options.dim ?? 0;
    let rowOffset = 0;
    const placed = (sources ?? [{ name, rows: shape[dim] }]).map((s) => {
      // A shard that is the whole tensor (a group of one) reads it as a plain source.
      const whole = s.shard === undefined || (s.shard.start === 0 && s.shard.extent === s.rows);
      const source = { name: s.name, dim, rowOffset, rows: s.rows, ...(!whole && { shard: s.shard }) };
      rowOffset += s.rows;
      return source;
    });
    const padded = options.padded === true && rowOffset < shape[dim];
    if (rowOffset !== shape[dim] && !padded) {
      throw new IrisError("INTERNAL", `internal error: the sources of ${name} fill ${rowOffset} of its ${shape[dim]} rows`);
    }
    const tensor = empty(this.device, shape, this.dtype);
    this.byName.set(name, { name, tensor, sources: placed, padded });
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
