/**
 * Fills a model's declared parameters from a checkpoint, one tensor at a time, or with random values for the
 * `dummy` load format (SGLang's `load_format="dummy"`: uniform in [-1e-3, 1e-3], for benchmarks at real scale).
 * A checkpoint that lacks a tensor the model needs, or holds one it does not know, fails the load with the names.
 */
import type { CheckpointWeights } from "../checkpoint/checkpoint-weights.js";
import { IrisError } from "../core/errors.js";
import { numel, type HostTensor } from "../core/host-tensor.js";
import { fromHost } from "../runtime/creation.js";
import type { Parameter, Parameters } from "../layers/parameters.js";

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
    for (const source of parameter.sources) fill(parameter, source, checkpoint.read(actualName.get(source.name)!));
    options.onProgress?.({ loaded: i + 1, total: all.length, name: parameter.name });
  });
}

/**
 * Uniform values in [-1e-3, 1e-3] from a fixed seed, so two dummy loads give the same model. Drawn on the device
 * itself (a counter-based hash per element, the same on every backend): nothing crosses from the host.
 */
export function loadDummyWeights(params: Parameters, seed = 0, onProgress?: (p: LoadProgress) => void): void {
  const all = params.all();
  all.forEach((parameter, i) => {
    const parameterSeed = ((seed ^ 0x9e3779b9) + Math.imul(i + 1, 0x632be5ab)) >>> 0;
    parameter.tensor.device.backend.fillUniform(parameter.tensor, parameterSeed, -1e-3, 1e-3);
    onProgress?.({ loaded: i + 1, total: all.length, name: parameter.name });
  });
}

function fill(parameter: Parameter, source: Parameter["sources"][number], host: HostTensor): void {
  const target = parameter.tensor;
  const expected = [source.rows, ...target.shape.slice(1)];
  if (!fitsShape(host.shape, expected)) {
    throw new IrisError(
      "MODEL_LOAD",
      `checkpoint tensor ${source.name} has shape [${host.shape.join(", ")}], but ${parameter.name} needs [${expected.join(", ")}]${source.rows !== target.shape[0] ? ` (rows ${source.rowOffset}..${source.rowOffset + source.rows} of [${target.shape.join(", ")}])` : ""}`,
    );
  }
  const rows = target.narrow(source.rowOffset, source.rows);
  const staged = fromHost(target.device, host, { shape: rows.shape, dtype: target.dtype });
  target.device.backend.copy(rows, staged);
  target.device.release(staged.storage);
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
