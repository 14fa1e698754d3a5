/**
 * The shapes a step takes through the runner: the scheduler's entries in, the prepared step (host work done and
 * uploaded), the launched step (kernels enqueued, read-back on its way), the result handed to the engine.
 */
import type { IrisError } from "../core/errors.js";
import type { Tensor } from "../runtime/tensor.js";
import type { RunnerRequest } from "./runner-request.js";
import type { SamplingPlan } from "./sampler.js";
import type { StepMarks, StepTiming } from "./step-clock.js";
import type { LogprobPlan, StepLogprobs } from "./step-logprobs.js";
import type { Communicator } from "../runtime/communicator.js";

/** One request's work in a step (the scheduler's `BatchEntry` has this shape). */
export interface StepEntry {
  readonly requestId: string;
  readonly startPosition: number;
  readonly numTokens: number;
  readonly slots: Int32Array;
  readonly pageTable: readonly number[];
  readonly sample: boolean;
}

export interface StepResult {
  readonly tokens: Int32Array;
  /** The logprobs of the requests that ask, by request id. */
  readonly logprobs: StepLogprobs;
  readonly failures: ReadonlyMap<string, IrisError>;
  /** The device's time on the step, when the runner times steps (`timeSteps`) and the step ran kernels. */
  readonly timing?: StepTiming;
}

export interface ModelRunnerOptions {
  readonly numPages: number;
  readonly pageSize: number;
  /** Longest prompt + output: the width of the page table is contextLength / pageSize. */
  readonly contextLength: number;
  /** Most tokens and sequences in one step (the scheduler's limits): the persistent inputs are sized by them. */
  readonly maxTokensPerStep: number;
  readonly maxRunningRequests: number;
  readonly eosTokenIds: readonly number[];
  /** Seeds requests that bring no seed of their own: the n-th such request gets seed + n. */
  readonly seed: number;
  /** Budget of the vision embedding cache (default 256 MiB). */
  readonly embeddingCacheBytes?: number;
  /** Most vision tokens (patches) in one pass of the vision encoder (default `DEFAULT_VISION_TOKEN_BUDGET`). */
  readonly visionTokenBudget?: number;
  /**
   * Batch sizes whose decode steps run as captured graphs, where the backend captures graphs (empty or absent:
   * none). Buckets above `maxRunningRequests` are cut to it.
   */
  readonly graphBuckets?: readonly number[];
  /** Time each step's kernels on the device (the engine's step profile), where the backend has timing marks. */
  readonly timeSteps?: boolean;
  /**
   * Tensor parallelism: the group the model is sharded over (absent: a group of one). Every rank runs the same steps;
   * rank 0 alone samples (and computes logprobs) and broadcasts the sampled tokens, which the other ranks need on
   * their device for the next step's decode inputs (docs/tensor-parallel.md).
   */
  readonly comm?: Communicator;
}

/** A step whose host work and uploads are done. */
export interface PreparedStep {
  readonly allEntries: readonly StepEntry[];
  /** The entries that run (those of failed requests left out). */
  readonly entries: readonly StepEntry[];
  readonly failures: ReadonlyMap<string, IrisError>;
  /** Entries with `sample` in all entries (failed ones included), in order. */
  readonly numSampled: number;
  readonly work: StepWork | null;
  /** The timing marks around its vision encodes, when steps are timed and it encoded images. */
  readonly visionMarks?: readonly [number, number];
}

/** The device views of a prepared step (null in `PreparedStep` when every entry failed). */
export interface StepWork {
  /** Token rows and sequences, padding included. */
  readonly tokens: number;
  readonly sequences: number;
  /** The graph bucket a decode step is padded to and replayed in, or null (eager). */
  readonly bucket: number | null;
  readonly maxQueryLen: number;
  readonly maxKvLen: number;
  readonly carried: number;
  /** Requests whose images feed this step, with how many embedding rows each gives. */
  readonly imageParts: readonly { readonly embeddings: Tensor; readonly rows: number }[];
  readonly sampled: readonly RunnerRequest[];
  readonly sampling: SamplingPlan;
  /** Prompt rows in the logits after the sampled ones (their logprobs are asked). */
  readonly inputRows: number;
  readonly logprobs: LogprobPlan | null;
}

/** A step whose kernels are enqueued; `tokens` fills once they ran. */
export interface LaunchedStep {
  readonly prepared: PreparedStep;
  /**
   * The step's sampled tokens and logprobs on their way to the host: the copies are enqueued right behind the
   * step's kernels, so collecting a step waits for that step alone, not for a step launched after it.
   */
  readonly readBack: Promise<ReadBack>;
  /** The marks around the step's kernels, when steps are timed. */
  readonly marks?: StepMarks;
}

export interface ReadBack {
  readonly sampled: Int32Array;
  /** The logprob planner's values and ids, when the step computes logprobs. */
  readonly logprobs: readonly [Float32Array, Int32Array] | null;
}
