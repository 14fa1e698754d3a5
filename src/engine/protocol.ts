/**
 * Messages between the `Engine` on the caller's thread and the `EngineCore` on its worker thread. Everything here
 * survives structured clone: plain objects, typed arrays, no classes.
 */
import type { MessagePort } from "node:worker_threads";
import type { IrisErrorCode } from "../core/errors.js";
import type { HostTensor } from "../core/host-tensor.js";
import type { MultimodalPayload, PromptPositions } from "../core/multimodal-payload.js";
import type { LogprobSpec, PositionLogprobs } from "../core/logprobs.js";
import type { FinishReason } from "../core/request.js";
import type { ResolvedSamplingParams } from "../core/sampling-params.js";
import type { SchedulerStats } from "../scheduler/types.js";
import type { KernelsInfo } from "./kernels-info.js";
import type { LeaderStart } from "./rank-protocol.js";

export type { MultimodalPayload, PromptPositions };

/** Settings the core needs to load the model and size its caches; resolved on the caller's thread. */
export interface CoreOptions {
  readonly modelPath: string;
  readonly device: "cpu" | "cuda";
  readonly loadFormat: "auto" | "dummy";
  /** "fp8": the decoder's matrices in FP8 (see EngineOptions.quantization); null: the float type. */
  readonly quantization: "fp8" | null;
  readonly contextLength: number;
  /** KV cache capacity in tokens (on cuda with `memFractionStatic`, at most this: what the requests can use). */
  readonly maxTotalTokens: number;
  /** On cuda: the share of the GPU's memory for weights and KV cache, the KV cache taking the rest; or null. */
  readonly memFractionStatic: number | null;
  readonly pageSize: number;
  readonly maxRunningRequests: number;
  /** Tokens computed in one step at most (prefill chunks and decode together). */
  readonly maxTokensPerStep: number;
  readonly enablePrefixCache: boolean;
  readonly randomSeed: number;
  /** Launch step n+1 before step n's tokens are read back (SGLang's overlap scheduler). */
  readonly overlapSchedule: boolean;
  /** Decode batch sizes replayed as graphs where the device captures them (empty: none). */
  readonly graphBuckets: readonly number[];
  /** Most vision tokens (patches) in one pass of the vision encoder. */
  readonly visionTokenBudget: number;
  /** Ranks the model is sharded over (tensor parallelism), one engine core each; 1: none. */
  readonly tpSize: number;
}

/** The engine core's worker data: its options, and under tensor parallelism what rank 0 needs of its group. */
export interface CoreStart {
  readonly options: CoreOptions;
  readonly tp?: LeaderStart;
}

export interface CoreRequest {
  readonly rid: string;
  /** The prompt's token ids, image placeholders already expanded. */
  readonly inputIds: Int32Array;
  /**
   * The key of the prompt for the prefix cache: `inputIds` with each image's placeholder tokens replaced by a
   * value derived from that image's content (at least 2^30, so it never equals a token id).
   */
  readonly cacheKey: Int32Array;
  readonly mm: MultimodalPayload | undefined;
  /**
   * Content keys of the images in prompt order (the same values `cacheKey` holds at their tokens); empty for
   * precomputed embeddings when the prefix cache is off (nothing reads their keys: `createPreparer`).
   */
  readonly imageKeys: readonly number[];
  /** Undefined: 1-D positions equal to the cache position. */
  readonly positions?: PromptPositions;
  readonly sampling: ResolvedSamplingParams;
  /** Absent: no logprobs asked. */
  readonly logprobs?: LogprobSpec;
}

export type ToCore =
  | { readonly type: "add"; readonly request: CoreRequest }
  | { readonly type: "abort"; readonly rid: string }
  | { readonly type: "encode"; readonly id: number; readonly mm: MultimodalPayload }
  /** Empties the prefix cache; refused while requests run. */
  | { readonly type: "flush"; readonly id: number }
  | { readonly type: "stats"; readonly id: number }
  /** The port to the grammar worker, sent before the first request with a grammar. */
  | { readonly type: "grammar-port"; readonly port: MessagePort }
  | { readonly type: "shutdown" };

export interface SerializedError {
  readonly code: IrisErrorCode;
  readonly message: string;
}

/** What one step produced for one request. */
export interface CoreOutput {
  readonly rid: string;
  /** The tokens; their text is decoded on the caller's side (the `OutputTracker` there). */
  readonly newTokenIds: readonly number[];
  readonly finished: boolean;
  readonly finishReason: FinishReason | null;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
  readonly numRetractions: number;
  /** With the first output of a request that asks for input logprobs: every prompt position from its start. */
  readonly inputLogprobs?: readonly PositionLogprobs[];
  /** One per `newTokenIds` entry, for a request that asks for logprobs. */
  readonly outputLogprobs?: readonly PositionLogprobs[];
}

/**
 * A step's common outputs column by column: one token for a request that goes on, with nothing else new since its
 * last `CoreOutput` (no logprobs, the same cache and retraction counts). The caller's side rebuilds each as that
 * output with the token and one more completion token. At batch 512 the objects cost the core's thread ~1.5 ms a
 * step to build and clone (H200 cpu profile, ccf986a); two arrays cost a fraction.
 */
export interface PlainOutputs {
  readonly rids: readonly string[];
  readonly tokens: Int32Array;
}

/** What the model will take, known from its config before any weight is allocated. */
export interface MemoryPlan {
  readonly device: string;
  readonly parameters: number;
  /** The weights as stored: FP8 matrices at one byte per element plus their scales. */
  readonly weightBytes: number;
  /** The engine's `quantization` ("fp8") or null. */
  readonly quantization: "fp8" | null;
  readonly kvCacheBytes: number;
  readonly maxTotalTokens: number;
  /** Under tensor parallelism the plan is per rank (every rank holds as much): the group's size and its KV heads. */
  readonly tensorParallel?: { readonly size: number; readonly kvHeadsPerRank: number };
}

export interface CoreInfo extends MemoryPlan {
  readonly contextLength: number;
  /** The tokens that end a generation: the config's and generation_config.json's, as the core stops on them. */
  readonly eosTokenIds: readonly number[];
  /** The kernels that run the model, as the core's thread loaded them. */
  readonly kernels: KernelsInfo;
}

/** SGLang's `FlushCacheReqOutput`, with what was freed. */
export interface FlushCacheResult {
  readonly success: boolean;
  /** Why it did not flush (requests still running). */
  readonly message?: string;
  /** KV pages the prefix cache gave back. */
  readonly freedPages: number;
}

export type FromCore =
  | { readonly type: "plan"; readonly plan: MemoryPlan }
  | { readonly type: "progress"; readonly stage: string; readonly loaded: number; readonly total: number }
  | { readonly type: "ready"; readonly info: CoreInfo }
  | { readonly type: "outputs"; readonly outputs: readonly CoreOutput[]; readonly plain?: PlainOutputs }
  | { readonly type: "encoded"; readonly id: number; readonly embeddings?: HostTensor; readonly error?: SerializedError }
  | { readonly type: "flushed"; readonly id: number; readonly result: FlushCacheResult }
  | { readonly type: "stats"; readonly id: number; readonly stats: SchedulerStats }
  | { readonly type: "failed"; readonly error: SerializedError }
  | { readonly type: "closed" };
