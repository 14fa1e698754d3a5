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
import type { LinearWeight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";

/**
 * How the matrices of the layers that take it are stored: null keeps the float type; "fp8" (SGLang's
 * `quantization="fp8"`) stores FP8 E4M3 with one scale per output channel, quantized while loading.
 */
export type WeightQuantization = "fp8" | null;

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
  /** Indices left zero after this source's block (an intermediate size padded to an aligned one). */
  readonly padAfter?: number;
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
  /** The float parameter, or an FP8 one's data. */
  readonly tensor: Tensor;
  readonly sources: readonly WeightSource[];
  /** The sources cover fewer indices than the parameter has; the rest is zeros (a padded vocabulary shard). */
  readonly padded: boolean;
  /**
   * FP8 parameters: the per-row F32 scales the loader fills with the data, and whether the checkpoint holds the
   * matrices transposed (stacked experts in the x·W layout [..., K, N], stored as [..., N, K]). The sources and
   * their dim refer to the checkpoint's layout (`checkpointShape`).
   */
  readonly fp8?: { readonly scale: Tensor; readonly transposed: boolean };
}

export interface AddOptions {
  /** The dim the sources fill in turn and are sliced along (default 0). */
  readonly dim?: number;
  /** The sources may cover fewer indices than `shape[dim]`; the loader zeroes the rest. */
  readonly padded?: boolean;
}

/** The shape the checkpoint's tensors fill: the parameter's own, or an FP8 stack's untransposed (x·W) shape. */
export function checkpointShape(parameter: Parameter): readonly number[] {
  const shape = parameter.tensor.shape;
  if (!parameter.fp8?.transposed) return shape;
  return [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]];
}

/**
 * A matrix product a layer declared: what it multiplies (so a backend's kernels for it can be warmed before the
 * first request: runner/product-warmup.ts) and how it runs, collectives left out.
 */
export interface DeclaredProduct {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Equal keys: the same kernels serve both (shape, dtypes, bias, quantization). */
  readonly key: string;
  /** x [T, inFeatures] → [T, outFeatures], this rank's part alone (no all-reduce or all-gather). */
  readonly forward: (x: Tensor) => Tensor;
}

export class Parameters {
  private readonly byName = new Map<string, Parameter>();
  /** Every matrix product the layers declared, in declaration order. */
  readonly products: DeclaredProduct[] = [];

  constructor(readonly device: Device, readonly dtype: TensorDType = device.floatDType,
    readonly quantization: WeightQuantization = null) {}

  /**
   * Allocates a parameter of `shape` filled from the checkpoint tensor of the same name, or from `sources` when it
   * fuses several checkpoint tensors or keeps a shard of one (listed in order along `options.dim`; they must cover
   * every index unless `options.padded`).
   */
  add(name: string, shape: readonly number[], sources?: readonly SourceSpec[], options: AddOptions = {}): Tensor {
    const { placed, padded } = this.place(name, shape, sources, options);
    const tensor = this.allocate(shape, this.dtype);
    this.byName.set(name, { name, tensor, sources: placed, padded });
    return tensor;
  }

  /**
   * A matrix of a layer that takes the collection's quantization: [N, K] in nn.Linear layout, or with `transposed`
   * stacked matrices the checkpoint holds as [..., K, N] (x·W); `shape`, `sources` and `options` in the checkpoint's
   * layout, as `add` takes them. Float as `add` gives it without quantization; FP8 [..., N, K] with F32 scales
   * [..., N] with "fp8".
   */
  addMatrix(name: string, shape: readonly number[], sources?: readonly SourceSpec[], options: AddOptions & { transposed?: boolean } = {}): LinearWeight {
    if (this.quantization === null) return this.add(name, shape, sources, options);
    const { placed, padded } = this.place(name, shape, sources, options);
    const transposed = options.transposed === true;
    const stored = transposed ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : shape;
    const data = this.allocate(stored, "F8_E4M3");
    const scale = this.allocate(stored.slice(0, -1), "F32");
    this.byName.set(name, { name, tensor: data, sources: placed, padded, fp8: { scale, transposed } });
    return { data, scale };
  }

  /** New memory for a parameter; a census (models/weight-footprint.ts) overrides it to count without allocating. */
  protected allocate(shape: readonly number[], dtype: TensorDType): Tensor {
    return empty(this.device, shape, dtype);
  }

  private place(name: string, shape: readonly number[], sources: readonly SourceSpec[] | undefined,
    options: AddOptions): { placed: WeightSource[]; padded: boolean } {
    if (this.byName.has(name)) throw new IrisError("INTERNAL", `internal error: parameter ${name} declared twice`);
    const dim = options.dim ?? 0;
    let rowOffset = 0, filled = 0;
    const placed = (sources ?? [{ name, rows: shape[dim] }]).map((s) => {
      // A shard that is the whole tensor (a group of one) reads it as a plain source.
      const whole = s.shard === undefined || (s.shard.start === 0 && s.shard.extent === s.rows);
      const source = { name: s.name, dim, rowOffset, rows: s.rows, ...(!whole && { shard: s.shard }) };
      rowOffset += s.rows + (s.padAfter ?? 0);
      filled += s.rows;
      return source;
    });
    if (rowOffset !== shape[dim] && !(options.padded === true && rowOffset < shape[dim])) {
      throw new IrisError("INTERNAL", `internal error: the sources of ${name} fill ${rowOffset} of its ${shape[dim]} rows`);
    }
    return { placed, padded: filled < shape[dim] };
  }

  /** Records a layer's matrix product (Linear and the output head declare theirs). */
  declareProduct(product: DeclaredProduct): void {
    this.products.push(product);
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
