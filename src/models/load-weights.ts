/**
 * Fills a model's declared parameters from a checkpoint, one tensor at a time, or with random values for the
 * `dummy` load format (SGLang's `load_format="dummy"`: uniform in [-1e-3, 1e-3], for benchmarks at real scale).
 * A checkpoint that lacks a tensor the model needs, or holds one it does not know, fails the load with the names.
 * FP8 parameters (`quantization: "fp8"`) are quantized on the device as their checkpoint tensors arrive.
 */
import type { CheckpointWeights } from "../checkpoint/checkpoint-weights.js";
import { IrisError } from "../core/errors.js";
import { numel, type HostTensor } from "../core/host-tensor.js";
import { E4M3_MAX } from "../core/fp8.js";
import { quantizeFp8 } from "../kernels/quantize-fp8.js";
import { fromHost } from "../runtime/creation.js";
import { checkpointShape, type Parameter, type Parameters, type WeightSource } from "../layers/parameters.js";
import type { Tensor } from "../runtime/tensor.js";

export interface LoadProgress {
  readonly loaded: number;
  readonly total: number;
  readonly name: string;
}

export interface LoadOptions {
  /** Maps a checkpoint's tensor name onto the Hub-layout name the model declares (identity when undefined). */
  readonly toHubName?: (name: string) => string;
  /** Checkpoint tensors that may be present without being used (e.g. `lm_head.weight` of a tied model). */
  readonly ignorable?: (hubName: string) => boolean;
  readonly onProgress?: (progress: LoadProgress) => void;
}

export function loadWeights(params: Parameters, checkpoint: CheckpointWeights, options: LoadOptions = {}): void {
  const toHub = options.toHubName ?? ((name: string) => name);
  const actualName = new Map<string, string>();
  for (const name of checkpoint.names()) actualName.set(toHub(name), name);

  const needed = params.sourceNames();
  const missing = [...needed].filter((n) => !actualName.has(n));
  if (missing.length) {
    throw new IrisError("MODEL_LOAD", `the checkpoint in ${checkpoint.modelDir} lacks ${missing.length} tensor(s) the model needs: ${preview(missing)}`);
  }
  const unexpected = [...actualName.keys()].filter((n) => !needed.has(n) && !options.ignorable?.(n));
  if (unexpected.length) {
    throw new IrisError("MODEL_LOAD", `the checkpoint in ${checkpoint.modelDir} holds ${unexpected.length} tensor(s) this model does not use (unexpected keys): ${preview(unexpected)}`);
  }

  const all = params.all();
  all.forEach((parameter, i) => {
    const target = parameter.tensor;
    if (parameter.padded) target.device.backend.fill(target, 0);
    const dim = parameter.sources[0]?.dim ?? 0;
    if (dim === 0) {
      for (const source of parameter.sources) fillRows(parameter, source, readSource(checkpoint, actualName.get(source.name)!, parameter, source));
    } else {
      // Blocks along an inner dim (a row-parallel weight's columns, gate|up of a shard of every expert) are not
      // contiguous on the device: they are placed on the host, and the parameter is uploaded once.
      const shape = checkpointShape(parameter);
      const whole = parameter.sources.length === 1 && parameter.sources[0].rows === shape[dim];
      const parts = parameter.sources.map((source) => ({ source, host: readSource(checkpoint, actualName.get(source.name)!, parameter, source) }));
      store(parameter, 0, shape[0], whole ? parts[0].host : assembleAlong(dim, shape, parts));
    }
    options.onProgress?.({ loaded: i + 1, total: all.length, name: parameter.name });
  });
}

/**
 * The checkpoint tensor of `source`, or only the rank's slice of it (a shard): its shape is checked first, so a
 * rank never reads more of the checkpoint than it keeps.
 */
function readSource(checkpoint: CheckpointWeights, name: string, parameter: Parameter, source: WeightSource): HostTensor {
  if (source.shard === undefined) return checkpoint.read(name);
  const expected = checkpointShape(parameter).map((d, i) => (i === source.dim ? source.shard!.extent : d));
  const actual = checkpoint.info(name).shape;
  if (!fitsShape(actual, expected) || actual.length !== expected.length) {
    throw new IrisError("MODEL_LOAD", `checkpoint tensor ${source.name} has shape [${actual.join(", ")}], but the shards of ${parameter.name} need [${expected.join(", ")}]`);
  }
  return checkpoint.readSlice(name, source.dim, source.shard.start, source.rows);
}

/**
 * Uniform values in [-1e-3, 1e-3] from a fixed seed, so two dummy loads give the same model. Drawn on the device
 * itself (a counter-based hash per element, the same on every backend): nothing crosses from the host.
 */
export function loadDummyWeights(params: Parameters, seed = 0, onProgress?: (p: LoadProgress) => void): void {
  const all = params.all();
  all.forEach((parameter, i) => {
    const parameterSeed = ((seed ^ 0x9e3779b9) + Math.imul(i + 1, 0x632be5ab)) >>> 0;
    const backend = parameter.tensor.device.backend;
    if (parameter.fp8) {
      // FP8 made directly: bytes uniform over the format's range times one scale, the same spread as the float
      // dummy weights (uniform in [-1e-3, 1e-3]) with no float copy of the matrix.
      backend.fillUniform(parameter.tensor, parameterSeed, -E4M3_MAX, E4M3_MAX);
      backend.fill(parameter.fp8.scale, 1e-3 / E4M3_MAX);
    } else {
      backend.fillUniform(parameter.tensor, parameterSeed, -1e-3, 1e-3);
    }
    onProgress?.({ loaded: i + 1, total: all.length, name: parameter.name });
  });
}

function fillRows(parameter: Parameter, source: WeightSource, host: HostTensor): void {
  const target = parameter.tensor;
  const expected = [source.rows, ...checkpointShape(parameter).slice(1)];
  if (!fitsShape(host.shape, expected)) {
    throw new IrisError(
      "MODEL_LOAD",
      `checkpoint tensor ${source.name} has shape [${host.shape.join(", ")}], but ${parameter.name} needs [${expected.join(", ")}]${source.rows !== target.shape[0] ? ` (rows ${source.rowOffset}..${source.rowOffset + source.rows} of [${target.shape.join(", ")}])` : ""}`,
    );
  }
  store(parameter, source.rowOffset, source.rows, host);
}

/**
 * Rows `rowOffset ..` of the parameter from a host tensor of those rows (in the checkpoint's layout). An FP8
 * parameter is quantized on the device from a float copy: per-row scales need only their own rows, so fused blocks
 * (q|k|v, gate|up) quantize one by one, and one checkpoint tensor at most is staged in float at a time.
 */
function store(parameter: Parameter, rowOffset: number, rows: number, host: HostTensor): void {
  const target = parameter.tensor;
  if (parameter.fp8 === undefined) {
    upload(target, target.narrow(rowOffset, rows), host);
    return;
  }
  const staged = fromHost(target.device, host, { shape: [rows, ...checkpointShape(parameter).slice(1)] });
  quantizeFp8(staged, { transpose: parameter.fp8.transposed, out: { q: target.narrow(rowOffset, rows), scale: parameter.fp8.scale.narrow(rowOffset, rows) } });
  target.device.release(staged.storage);
}

/** Copies a host tensor (any dtype, converted to the target's) into `rows` of `target`, through a staging tensor. */
function upload(target: Tensor, rows: Tensor, host: HostTensor): void {
  const staged = fromHost(target.device, host, { shape: rows.shape, dtype: target.dtype });
  target.device.backend.copy(rows, staged);
  target.device.release(staged.storage);
}

/** One host tensor of `shape` from blocks along `dim`, each at its source's offset (shapes checked on the way). */
function assembleAlong(dim: number, shape: readonly number[], parts: readonly { source: WeightSource; host: HostTensor }[]): HostTensor {
  const first = parts[0].host;
  const data = new (first.data.constructor as new (n: number) => HostTensor["data"])(numel(shape));
  const outer = numel(shape.slice(0, dim)), inner = numel(shape.slice(dim + 1));
  for (const { source, host } of parts) {
    const expected = shape.map((d, i) => (i === dim ? source.rows : d));
    if (host.dtype !== first.dtype || !expected.every((d, i) => host.shape[i] === d) || host.shape.length !== expected.length) {
      throw new IrisError("MODEL_LOAD", `checkpoint tensor ${source.name}: a block of [${host.shape.join(", ")}] ${host.dtype} cannot fill [${expected.join(", ")}]`);
    }
    const block = source.rows * inner;
    for (let o = 0; o < outer; o++) {
      const from = host.data.subarray(o * block, (o + 1) * block) as never;
      (data as Float32Array).set(from, o * shape[dim] * inner + source.rowOffset * inner);
    }
  }
  return { dtype: first.dtype, shape, data };
}

/**
 * Dims must match one for one: equal element counts are not enough (a transposed or reshaped tensor would load as
 * nonsense). The one layout change allowed is a patch-embedding convolution, stored as [out, in, (t,) kh, kw],
 * filling the [out, in * (t *) kh * kw] matrix of the linear layer that replaces it.
 */
function fitsShape(actual: readonly number[], expected: readonly number[]): boolean {
  if (actual.length === expected.length) return actual.every((d, i) => d === expected[i]);
  const convolution = expected.length === 2 && (actual.length === 4 || actual.length === 5);
  return convolution && actual[0] === expected[0] && numel(actual.slice(1)) === expected[1];
}

function preview(names: string[]): string {
  return names.length <= 6 ? names.join(", ") : `${names.slice(0, 6).join(", ")}, ... (${names.length - 6} more)`;
}
