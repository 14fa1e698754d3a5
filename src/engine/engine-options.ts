/**
 * The options of `Engine.create`, validated once and resolved against the model's config into the settings the
 * core runs with. Derived values (context length, KV capacity) are computed here, never patched in later.
 */
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { rankShape } from "./memory-plan.js";
import type { ModelConfig } from "../checkpoint/model-config.js";
import { DTYPE_BYTES } from "../core/dtype.js";
import { IrisError } from "../core/errors.js";
import { checkKeys } from "../core/option-keys.js";
import type { LoadImageOptions } from "../multimodal/image-types.js";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "../utils/logger.js";
import type { LoadProgressEvent } from "./core-client.js";
import { ENGINE_OPTION_NAMES, IMAGE_LOAD_OPTION_NAMES } from "./option-names.js";
import type { CoreOptions, MemoryPlan } from "./protocol.js";
import { defaultGraphBuckets } from "../runner/decode-graphs.js";
import { DEFAULT_VISION_TOKEN_BUDGET } from "../runner/vision-passes.js";

export interface EngineOptions {
  /** A model directory as Hugging Face saves it: config.json, safetensors weights, tokenizer and processor files. */
  readonly modelPath: string;
  /** A chat template name (`qwen2-vl`, `llama-4`, `chatml`) for `Engine.conversation()`; prompts are used as given. */
  readonly chatTemplate?: string;
  /** Where the model runs; `cpu` everywhere, `cuda` where the native addon is built. */
  readonly device?: "cpu" | "cuda";
  /**
   * Ranks the model is sharded over (tensor parallelism, SGLang's `tp_size`): GPUs on cuda; on the cpu device worker
   * threads (what CI tests the sharding with). It must divide the attention heads and the MLP and expert sizes.
   */
  readonly tpSize?: number;
  /** `dummy`: random weights from config.json alone, for benchmarks (SGLang's `load_format="dummy"`). */
  readonly loadFormat?: "auto" | "dummy";
  /**
   * `fp8` (SGLang's `quantization="fp8"`): the decoder's matrices (attention projections, MLPs, experts) are quantized
   * while loading to FP8 E4M3 with one scale per output channel, and their inputs per token on the fly; embeddings,
   * norms, the router, the output head and the vision encoder stay in the float type. Halves the weights of a bf16
   * checkpoint on a GPU. Default: none.
   */
  readonly quantization?: "fp8";
  /** Longest prompt + output; defaults to the model's `max_position_embeddings`. */
  readonly contextLength?: number;
  /**
   * KV cache capacity in tokens; by default what `maxRunningRequests` requests of `contextLength` tokens need, at
   * most what `kvCacheMemoryMB` holds.
   */
  readonly maxTotalTokens?: number;
  /** The most memory the KV cache takes when `maxTotalTokens` is not given (default 512 MiB on the cpu backend). */
  readonly kvCacheMemoryMB?: number;
  /**
   * On cuda, the share of the GPU's memory for the weights and the KV cache together (SGLang's meaning; default
   * 0.88): the KV cache takes what the weights leave of it, when neither `maxTotalTokens` nor `kvCacheMemoryMB` is
   * given. The rest is for activations, CUDA graphs and the vision encoder.
   */
  readonly memFractionStatic?: number;
  /** Tokens per KV page (default 16). */
  readonly pageSize?: number;
  /** Requests decoded together at most (default 256). */
  readonly maxRunningRequests?: number;
  /** Most tokens computed in one step; longer prompts are prefilled in chunks (default 8192). */
  readonly chunkedPrefillSize?: number;
  /**
   * Most vision tokens (Qwen2.5-VL's patches, Llama 4's tile patches) the vision encoder takes in one pass: the
   * pictures of all requests admitted in a step are encoded together in passes under it (default 16384, twelve
   * 504x504 pictures), so a burst of pictures cannot take more memory than one pass of this size.
   */
  readonly visionTokenBudget?: number;
  /**
   * Raw Qwen2.5-VL pictures are only decoded on the host; the device resizes them to their grids (`resizeImage`),
   * rescales, normalizes and cuts them into patches (`patchifyImage`), with the same values as the processor's
   * (default: on for the cuda device).
   */
  readonly patchifyOnDevice?: boolean;
  /** Turns off prefix caching (on by default; it covers images by their content). */
  readonly disableRadixCache?: boolean;
  /**
   * Turns off the overlap of host and device work (SGLang's `disable_overlap_schedule`): by default step n+1 is
   * scheduled and launched before step n's tokens are read back.
   */
  readonly disableOverlapSchedule?: boolean;
  /** Seeds requests that give no `seed` of their own. */
  readonly randomSeed?: number;
  /**
   * Runs every decode step eagerly (SGLang's `disable_cuda_graph`). By default, on a device that captures graphs,
   * a decode step of B requests is padded to a bucket and replayed as a CUDA graph.
   */
  readonly disableCudaGraph?: boolean;
  /** The largest decode batch run as a graph (default 160); larger ones run eagerly. */
  readonly cudaGraphMaxBs?: number;
  /** The graph buckets themselves (default 1, 2, 4, 8, then multiples of 8 up to `cudaGraphMaxBs`). */
  readonly cudaGraphBs?: readonly number[];
  /**
   * Worker threads that load and preprocess raw images, so pictures are decoded and resized on several cores and
   * the caller's thread stays free (default: one per core beyond the first, at most 4; 0 processes them on the
   * caller's thread).
   */
  readonly preprocessWorkers?: number;
  /**
   * Loading raw images: download and file limits (time, bytes), the pixel limit, the decode memory budget, and fences
   * on where images may come from (local files, hosts, private addresses); see `ImageLoadOptions`.
   */
  readonly imageLoad?: ImageLoadOptions;
  /** Log lines on stderr at this level and above: "debug", "info", "warning", "error" (default, as SGLang's Engine). */
  readonly logLevel?: LogLevel;
  /** Called while the model loads (e.g. for a progress bar). */
  readonly onProgress?: (event: LoadProgressEvent) => void;
  /** Called once the memory the model needs is known, before any weight is allocated. */
  readonly onMemoryPlan?: (plan: MemoryPlan) => void;
}

/** The per-image limits and fences of `loadImage`, and the engine-wide budget for decodes in flight. */
export interface ImageLoadOptions extends LoadImageOptions {
  /**
   * Memory for image decodes in flight, in MiB (default 1024): each decode reserves its estimated peak once its size
   * is known and the rest wait their turn; one image larger than the budget runs alone.
   */
  readonly decodeMemoryMB?: number;
}

const DEFAULT_DECODE_MEMORY_MB = 1024;

/** The image options of a request (what `loadImage` takes) and the decode budget's size in bytes, validated. */
export function resolveImageLoad(options: ImageLoadOptions | undefined): { load: LoadImageOptions; decodeBudgetBytes: number } {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new IrisError("INVALID_ARGUMENT", "imageLoad must be an object of image loading options");
  }
  if (options) checkKeys(options, IMAGE_LOAD_OPTION_NAMES);
  const { decodeMemoryMB, ...load } = options ?? {};
  const budget = decodeMemoryMB ?? DEFAULT_DECODE_MEMORY_MB;
  if (!(Number.isFinite(budget) && budget > 0)) throw new IrisError("INVALID_ARGUMENT", `imageLoad.decodeMemoryMB must be a positive number, got ${decodeMemoryMB}`);
  for (const key of ["timeoutMs", "maxBytes", "maxPixels"] as const) {
    const v = load[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new IrisError("INVALID_ARGUMENT", `imageLoad.${key} must be a positive integer, got ${v}`);
  }
  for (const key of ["localFileDirs", "allowedHosts"] as const) {
    const v = load[key];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === "string" && x.length > 0))) {
      throw new IrisError("INVALID_ARGUMENT", `imageLoad.${key} must be an array of non-empty strings`);
    }
  }
  return { load, decodeBudgetBytes: Math.round(budget * 1024 * 1024) };
}

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) throw new IrisError("INVALID_ARGUMENT", `${name} must be a positive integer, got ${value}`);
  return v;
}

/**
 * Refuses options Iris does not know (naming them, with "did you mean") before anything loads, and checks the ones
 * that need no model config.
 */
export function checkEngineOptions(options: EngineOptions): void {
  if (typeof options !== "object" || options === null) throw new IrisError("INVALID_ARGUMENT", "Engine.create takes an options object: { modelPath, ... }");
  checkKeys(options, ENGINE_OPTION_NAMES);
  if (options.logLevel !== undefined && !isLogLevel(options.logLevel)) {
    throw new IrisError("INVALID_ARGUMENT", `logLevel must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(options.logLevel)}`);
  }
}

export function checkModelPath(modelPath: unknown): string {
  if (typeof modelPath !== "string" || modelPath.length === 0) {
    throw new IrisError("INVALID_ARGUMENT", "modelPath must name a model directory");
  }
  if (!existsSync(modelPath)) throw new IrisError("MODEL_LOAD", `model directory ${modelPath} does not exist`);
  if (!statSync(modelPath).isDirectory()) {
    throw new IrisError("MODEL_LOAD", `${modelPath} is a file, not a directory: point modelPath at the model's directory (the one holding config.json)`);
  }
  if (!existsSync(join(modelPath, "config.json"))) {
    throw new IrisError("MODEL_LOAD", `${modelPath} has no config.json: point modelPath at a Hugging Face model directory`);
  }
  return modelPath;
}

export function preprocessWorkerCount(requested: number | undefined): number {
  const count = requested ?? Math.min(4, Math.max(1, availableParallelism() - 1));
  if (!Number.isInteger(count) || count < 0) throw new IrisError("INVALID_ARGUMENT", `preprocessWorkers must be a non-negative integer, got ${requested}`);
  return count;
}

/** The memory share that sizes the KV cache on cuda, or null where the cache is sized in tokens or MiB. */
function memoryFraction(options: EngineOptions, device: "cpu" | "cuda"): number | null {
  const fraction = options.memFractionStatic;
  if (fraction !== undefined && (typeof fraction !== "number" || !(fraction > 0 && fraction < 1))) {
    throw new IrisError("INVALID_ARGUMENT", `memFractionStatic must be a number between 0 and 1, got ${JSON.stringify(fraction)}`);
  }
  if (device === "cpu") {
    if (fraction !== undefined) throw new IrisError("INVALID_ARGUMENT", "memFractionStatic sizes GPU memory; on the cpu device give kvCacheMemoryMB or maxTotalTokens");
    return null;
  }
  if (options.maxTotalTokens !== undefined || options.kvCacheMemoryMB !== undefined) {
    if (fraction !== undefined) throw new IrisError("INVALID_ARGUMENT", "give one of memFractionStatic, kvCacheMemoryMB and maxTotalTokens");
    return null;
  }
  return fraction ?? 0.88;
}

function graphBuckets(options: EngineOptions): readonly number[] {
  if (options.disableCudaGraph !== undefined && typeof options.disableCudaGraph !== "boolean") {
    throw new IrisError("INVALID_ARGUMENT", `disableCudaGraph must be a boolean, got ${JSON.stringify(options.disableCudaGraph)}`);
  }
  if (options.disableCudaGraph === true) return [];
  const maxBs = positiveInteger(options.cudaGraphMaxBs, "cudaGraphMaxBs", 160);
  if (options.cudaGraphBs === undefined) return defaultGraphBuckets(maxBs);
  if (!Array.isArray(options.cudaGraphBs) || options.cudaGraphBs.length === 0) {
    throw new IrisError("INVALID_ARGUMENT", `cudaGraphBs must be a non-empty array of batch sizes, got ${JSON.stringify(options.cudaGraphBs)}`);
  }
  return options.cudaGraphBs.map((b, i) => positiveInteger(b, `cudaGraphBs[${i}]`, 1));
}

export function resolveCoreOptions(options: EngineOptions, config: ModelConfig): CoreOptions {
  const device = options.device ?? "cpu";
  if (device !== "cpu" && device !== "cuda") throw new IrisError("INVALID_ARGUMENT", `device must be "cpu" or "cuda", got ${JSON.stringify(device)}`);
  const tpSize = positiveInteger(options.tpSize, "tpSize", 1);
  // The model must split evenly (heads, KV heads, intermediate sizes): a clear error before anything starts.
  const rank = rankShape(config, tpSize, DTYPE_BYTES[device === "cuda" ? "BF16" : "F32"]);
  const loadFormat = options.loadFormat ?? "auto";
  if (loadFormat !== "auto" && loadFormat !== "dummy") throw new IrisError("INVALID_ARGUMENT", `loadFormat must be "auto" or "dummy", got ${JSON.stringify(loadFormat)}`);
  const quantization = options.quantization ?? null;
  if (quantization !== null && quantization !== "fp8") {
    throw new IrisError("INVALID_ARGUMENT", `quantization must be "fp8" (or left out), got ${JSON.stringify(options.quantization)}`);
  }
  const modelContext = config.text.maxPositionEmbeddings;
  const contextLength = positiveInteger(options.contextLength, "contextLength", modelContext);
  if (contextLength > modelContext) {
    throw new IrisError("INVALID_ARGUMENT", `contextLength ${contextLength} exceeds the model's max_position_embeddings (${modelContext})`);
  }
  const pageSize = positiveInteger(options.pageSize, "pageSize", 16);
  const maxRunningRequests = positiveInteger(options.maxRunningRequests, "maxRunningRequests", 256);
  // The cpu device holds the cache in float32, the cuda device in bf16; a tensor-parallel rank only its KV heads'.
  const bytesPerToken = rank.kvBytesPerToken;
  const memFractionStatic = memoryFraction(options, device);
  const budget = positiveInteger(options.kvCacheMemoryMB, "kvCacheMemoryMB", 512) * 1024 * 1024;
  // Whole pages, one of them the padding page, all inside the budget (on cuda by default: the memory share, once
  // the engine sees the GPU).
  const fromBudget = memFractionStatic !== null ? Infinity : Math.max(1, Math.floor(budget / bytesPerToken / pageSize) - 1) * pageSize;
  // No more than every running request at full context can use: a small model with a short context needs far less
  // than the budget. Whole pages, since each request's last page is partly used.
  const pagesPerRequest = Math.ceil(contextLength / pageSize);
  const needed = pagesPerRequest * pageSize * maxRunningRequests;
  const maxTotalTokens = positiveInteger(options.maxTotalTokens, "maxTotalTokens", Math.min(fromBudget, needed, 4 * 1024 * 1024));
  return {
    modelPath: options.modelPath,
    device,
    loadFormat,
    quantization,
    contextLength,
    maxTotalTokens,
    memFractionStatic,
    pageSize,
    maxRunningRequests,
    maxTokensPerStep: positiveInteger(options.chunkedPrefillSize, "chunkedPrefillSize", 8192),
    enablePrefixCache: !(options.disableRadixCache ?? false),
    overlapSchedule: !(options.disableOverlapSchedule ?? false),
    graphBuckets: graphBuckets(options),
    visionTokenBudget: positiveInteger(options.visionTokenBudget, "visionTokenBudget", DEFAULT_VISION_TOKEN_BUDGET),
    randomSeed: options.randomSeed ?? Math.floor(Math.random() * 2 ** 30),
    tpSize,
  };
}
