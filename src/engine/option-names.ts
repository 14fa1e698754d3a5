/**
 * The names `Engine.create` and `Engine.generate` accept, checked strictly (see core/option-keys.ts): what Iris
 * knows, what SGLang has that Iris refuses (and why), and the names users reach for by habit.
 */
import { keysOf, type KeyPolicy } from "../core/option-keys.js";
import type { GenerateRequest } from "../core/request.js";
import type { EngineOptions, ImageLoadOptions } from "./engine-options.js";

const NO_LORA = "Iris has no LoRA adapters";
const ONE_RANK = "an engine is one data-parallel rank on one machine, with no prefill/decode disaggregation";
const ONE_IMPLEMENTATION = "each Iris backend has one implementation of it, chosen with device";

/** The names inside `EngineOptions.imageLoad` (issue 14's limits, fences and decode budget). */
export const IMAGE_LOAD_OPTION_NAMES: KeyPolicy = {
  what: "imageLoad option",
  known: keysOf<ImageLoadOptions>()({
    timeoutMs: true, maxBytes: true, maxPixels: true, allowLocalFiles: true, localFileDirs: true, allowedHosts: true,
    allowPrivateNetwork: true, decodeMemoryMB: true,
  }),
  renamed: { mediaUrlMaxFileSizeMb: "maxBytes", timeout: "timeoutMs", maxImagePixels: "maxPixels" },
};

export const ENGINE_OPTION_NAMES: KeyPolicy = {
  what: "engine option",
  known: keysOf<EngineOptions>()({
    modelPath: true, chatTemplate: true, device: true, tpSize: true, loadFormat: true, contextLength: true,
    maxTotalTokens: true, kvCacheMemoryMB: true, memFractionStatic: true, pageSize: true, maxRunningRequests: true, chunkedPrefillSize: true,
    quantization: true, disableRadixCache: true, visionTokenBudget: true, patchifyOnDevice: true, disableOverlapSchedule: true, randomSeed: true, disableCudaGraph: true, cudaGraphMaxBs: true, cudaGraphBs: true, preprocessWorkers: true, imageLoad: true, logLevel: true,
    onProgress: true, onMemoryPlan: true,
  }),
  refused: {
    dpSize: ONE_RANK, ppSize: "Iris has no pipeline parallelism; use tpSize", nnodes: ONE_RANK, nodeRank: ONE_RANK,
    distInitAddr: ONE_RANK, loadBalanceMethod: ONE_RANK,
    kvCacheDtype: "the cpu backend keeps the cache in float32 and the cuda backend in bf16",
    dtype: "the cpu backend computes in float32 and the cuda backend in bf16",
    attentionBackend: ONE_IMPLEMENTATION, prefillAttentionBackend: ONE_IMPLEMENTATION,
    decodeAttentionBackend: ONE_IMPLEMENTATION, mmAttentionBackend: ONE_IMPLEMENTATION,
    samplingBackend: ONE_IMPLEMENTATION, grammarBackend: "structured output always uses XGrammar (its WebAssembly build)",
    skipTokenizerInit: "Iris always loads the tokenizer; requests may still give inputIds",
    trustRemoteCode: "Iris runs no Python model code; it implements each architecture itself",
    tokenizerPath: "the tokenizer is read from modelPath", tokenizerMode: "the tokenizer is read from modelPath",
    servedModelName: "Iris is an offline engine with no server",
    schedulePolicy: "scheduling is first come, first served, with prefix matching",
    enableMultimodal: "multimodal input is always on for vision-language checkpoints",
    streamInterval: "generateStream yields every new piece of text as it is decoded",
    incrementalStreamingOutput: "each stream chunk carries both the new text (delta) and the text so far",
    allowAutoTruncate: "a request longer than the context fails with CONTEXT_TOO_LONG instead of being cut",
    enableReturnHiddenStates: "hidden states are not returned", enableCustomLogitProcessor: "Iris has no custom logit processors",
    preferredSamplingParams: "give samplingParams with each request",
    disableFastImageProcessor: "Iris has one image processor, exact to the reference",
    keepMmFeatureOnDevice: "image features move to the device once, inside the engine",
    mmProcessConfig: "the processor is configured by the model's preprocessor_config.json",
    limitMmDataPerRequest: "a request may carry any number of images that fit the context",
    enableLora: NO_LORA, loraPaths: NO_LORA, maxLoraRank: NO_LORA, maxLorasPerBatch: NO_LORA,
    speculativeAlgorithm: "Iris has no speculative decoding",
    maxPrefillTokens: "chunkedPrefillSize bounds the tokens of one step",
    maxQueuedRequests: "the queue is unbounded; requests wait for KV memory",
    enableMetrics: "each result's metaInfo carries its token counts and latency",
    logRequests: "logLevel 'debug' logs each request",
    host: "Iris is an offline engine with no server", port: "Iris is an offline engine with no server",
    enableMemorySaver: "the cpu backend holds no memory to release",
  },
  renamed: {
    model: "modelPath", tp: "tpSize", seed: "randomSeed", mmProcessorWorkerNum: "preprocessWorkers",
    mmIoWorkerNum: "preprocessWorkers", maxSeqLen: "contextLength",
  },
};

const ONE_RANK_REQUEST = "an engine is one rank with no prefill/decode disaggregation";

export const REQUEST_FIELD_NAMES: KeyPolicy = {
  what: "request field",
  known: keysOf<GenerateRequest>()({
    prompt: true, inputIds: true, imageData: true, samplingParams: true, rid: true,
    returnLogprob: true, logprobStartLen: true, topLogprobsNum: true, tokenIdsLogprob: true,
  }),
  refused: {
    returnTextInLogprobs: "logprob tuples carry token ids only (text null); decode them with engine.tokenizer",
    stream: "call Engine.generateStream for a stream of chunks",
    videoData: "Iris takes images only", audioData: "Iris takes images only", modalities: "Iris takes images only",
    inputEmbeds: "give inputIds, and image embeddings as precomputed_embedding items of imageData",
    mmHashes: "Iris keys the prefix cache by each image's content itself", mmContentHashes: "Iris keys the prefix cache by each image's content itself",
    loraPath: NO_LORA, customLogitProcessor: "Iris has no custom logit processors",
    returnHiddenStates: "hidden states are not returned", returnRoutedExperts: "routed experts are not returned",
    routedExpertsStartLen: "routed experts are not returned",
    sessionParams: "Iris has no sessions; the prefix cache reuses shared prompt prefixes", sessionId: "Iris has no sessions",
    priority: "scheduling is first come, first served",
    bootstrapHost: ONE_RANK_REQUEST, bootstrapPort: ONE_RANK_REQUEST, bootstrapRoom: ONE_RANK_REQUEST,
    routedDpRank: ONE_RANK_REQUEST, disaggPrefillDpRank: ONE_RANK_REQUEST, dataParallelRank: ONE_RANK_REQUEST,
    externalTraceHeader: "Iris has no tracing", cacheSalt: "the prefix cache is private to one engine; flushCache() empties it",
    extraKey: "the prefix cache is private to one engine; flushCache() empties it",
    requireReasoning: "Iris has no reasoning parser", logMetrics: "each result's metaInfo carries its metrics",
  },
  renamed: { text: "prompt", images: "imageData", image: "imageData", sampling: "samplingParams", params: "samplingParams" },
};
