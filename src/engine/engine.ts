/**
 * The `Engine`: Iris's offline API. It tokenizes and processes images on the caller's thread and runs the model on a
 * worker thread (the `EngineCore`), so the caller's event loop never blocks on model compute.
 *
 *   const llm = await Engine.create({ modelPath });
 *   const out = await llm.generate({ prompt, imageData: ["photo.jpg"], samplingParams: { maxNewTokens: 64 } });
 *   await llm.shutdown();
 */
import { join } from "node:path";
import { loadModelConfig, type ModelConfig } from "../checkpoint/model-config.js";
import { IrisError } from "../core/errors.js";
import type { HostTensor, HostTensor1D, HostTensor2D } from "../core/host-tensor.js";
import type { GenerateRequest, GenerateResult, ImageInput, StreamChunk } from "../core/request.js";
import { resolveSamplingParams, type SamplingParams } from "../core/sampling-params.js";
import { chatTemplates } from "../tokenizer/chat-templates.js";
import type { Conversation } from "../tokenizer/conversation.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { CoreClient } from "./core-client.js";
import { GrammarService } from "../grammar/grammar-service.js";
import { checkEngineOptions, checkModelPath, preprocessWorkerCount, resolveCoreOptions, resolveImageLoad, type EngineOptions } from "./engine-options.js";
import { DecodeBudget } from "../multimodal/decode-budget.js";
import { ImagePreprocessPool } from "../multimodal/image-preprocess-pool.js";
import type { ImageLoadRequest, ImageShare, LoadImageOptions } from "../multimodal/image-types.js";
import { SharedImages } from "../multimodal/shared-images.js";
import { classifyImages } from "./image-items.js";
import { normalizeRequest, type SingleRequest } from "./normalize-request.js";
import { createPreparer } from "./preparers.js";
import { sampleRequest } from "./parallel-samples.js";
import { callerBuffersOf, type TransferRule } from "./payload-transfer.js";
import { resolveLogprobSpec } from "./logprob-options.js";
import type { FamilyPreparer } from "./prompt-preparer.js";
import type { CoreInfo, CoreOptions, CoreRequest, FlushCacheResult } from "./protocol.js";
import { OutputTracker } from "./output-tracker.js";
import { RequestHandle } from "./request-handle.js";
import { AsyncQueue } from "./async-queue.js";
import { createLogger, type Logger } from "../utils/logger.js";
import { serverInfo, type ServerInfo } from "./server-info.js";

/** One request: a prompt, a token-id list, or a processor's 1-D `input_ids`; `generate` returns one result. */
export type SingleGenerateRequest = GenerateRequest & ({ prompt: string } | { inputIds: number[] | HostTensor1D });
/**
 * A request that names `n`: with n > 1 it returns a list (n results per prompt, SGLang's shape), with n = 1 the
 * shape of its prompt (one result for a single prompt).
 */
export type ParallelGenerateRequest = GenerateRequest & { samplingParams: SamplingParams & { n: number } };
/** A batch: prompts, token-id lists, or a 2-D tensor of ids; `generate` returns one result per entry, in order. */
export type BatchGenerateRequest = GenerateRequest & ({ prompt: string[] } | { inputIds: number[][] | HostTensor2D });

export class Engine {
  /**
   * Requests between `generate` and their hand-over to the core (tokenizing, loading and processing images), with the
   * controller that cancels their downloads, file reads and image jobs on `abort` or `shutdown`.
   */
  private readonly preparing = new Map<string, AbortController>();
  private closing = false;
  /** Structured output's compiler and matchers, on their own worker thread (started by the first grammar). */
  private readonly grammars: GrammarService;

  private constructor(
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
    private readonly preparer: FamilyPreparer,
    private readonly client: CoreClient,
    readonly info: CoreInfo,
    private readonly options: EngineOptions,
    private readonly core: CoreOptions,
    private readonly pool: ImagePreprocessPool | undefined,
    private readonly log: Logger,
    private readonly imageLoad: LoadImageOptions,
    private readonly decodeBudget: DecodeBudget,
  ) {
    this.grammars = new GrammarService({
      modelPath: core.modelPath, vocabSize: config.text.vocabSize, stopTokenIds: config.text.eosTokenIds,
      connectCore: (port) => client.connectGrammar(port),
    });
  }

  /** Loads the model (on a worker thread) and its tokenizer and processor; resolves once it is ready. */
  static async create(options: EngineOptions): Promise<Engine> {
    const startedAt = performance.now();
    checkEngineOptions(options);
    const log = createLogger(options.logLevel ?? "error");
    const modelPath = checkModelPath(options.modelPath);
    const config = loadModelConfig(join(modelPath, "config.json"));
    if (options.chatTemplate !== undefined) chatTemplates.get(options.chatTemplate);
    const core = resolveCoreOptions(options, config);
    const { load, decodeBudgetBytes } = resolveImageLoad(options.imageLoad);
    // The worker loads the model while this thread loads the tokenizer and processor.
    const starting = CoreClient.start(core, options);
    // Observed here so a failure while this thread is still loading is not an unhandled rejection; awaited below.
    starting.catch(() => undefined);
    let tokenizer: Tokenizer;
    let preparer: FamilyPreparer;
    let pool: ImagePreprocessPool | undefined;
    try {
      const workers = preprocessWorkerCount(options.preprocessWorkers);
      pool = workers > 0 ? await ImagePreprocessPool.start(modelPath, workers) : undefined;
      tokenizer = Tokenizer.fromDir(modelPath);
      // On cuda the device rescales, normalizes and patchifies raw pictures: the host only decodes and resizes.
      preparer = await createPreparer(config, modelPath, tokenizer, pool, options.patchifyOnDevice ?? core.device === "cuda", core.enablePrefixCache);
    } catch (err) {
      await pool?.close();
      await starting.then(({ client }) => client.shutdown(), () => undefined);
      throw err;
    }
    try {
      const { client, info } = await starting;
      logReady(log, modelPath, info, (performance.now() - startedAt) / 1000);
      return new Engine(config, tokenizer, preparer, client, info, options, core, pool, log, load, new DecodeBudget(decodeBudgetBytes));
    } catch (err) {
      await pool?.close();
      throw err;
    }
  }

  /** Ends a request early (SGLang's `abort_request`), whether it is still being prepared or already running. */
  abort(rid: string): void {
    const preparing = this.preparing.get(rid);
    if (preparing) preparing.abort(new IrisError("ABORTED", "the request was aborted"));
    else this.client.abort(rid);
  }

  /** A fresh copy of the chat template named at creation, for building prompts. */
  conversation(): Conversation {
    if (this.options.chatTemplate === undefined) {
      throw new IrisError("CHAT_TEMPLATE", "no chatTemplate was given to Engine.create; pass one, or use chatTemplates.get(name)");
    }
    return chatTemplates.get(this.options.chatTemplate).copy();
  }

  /** Generates for one request (a result) or a batch (results in order; a failed request gets an abort result). */
  generate(request: ParallelGenerateRequest): Promise<GenerateResult | GenerateResult[]>;
  generate(request: SingleGenerateRequest): Promise<GenerateResult>;
  generate(request: BatchGenerateRequest): Promise<GenerateResult[]>;
  generate(request: GenerateRequest): Promise<GenerateResult | GenerateResult[]>;
  async generate(request: GenerateRequest): Promise<GenerateResult | GenerateResult[]> {
    const startedAt = performance.now();
    const { isBatch, requests } = normalizeRequest(request);
    const handlesOf = requests.map((r) => r.samples.map((s) => new RequestHandle(s.rid, s.index, startedAt)));
    await this.submitAll(requests, handlesOf);
    // Samples sit at i * n + j, which is the order of the flattened handles.
    const handles = handlesOf.flat();
    if (!isBatch) return handles[0].done;
    return Promise.all(handles.map((h) => h.done.catch((error: IrisError) => RequestHandle.failedResult(h.rid, error))));
  }

  /**
   * Streams text as it is generated: each chunk holds the new text (`delta`), the text and ids so far, and the
   * request's index in its batch. Chunks of a batch interleave as they come.
   */
  async *generateStream(request: GenerateRequest): AsyncGenerator<StreamChunk> {
    const startedAt = performance.now();
    const { requests } = normalizeRequest(request);
    const queue = new AsyncQueue<StreamChunk>();
    const handlesOf = requests.map((r) => r.samples.map((s) => new RequestHandle(s.rid, s.index, startedAt, (chunk) => {
      queue.push(chunk);
      if (chunk.metaInfo.finishReason && --open === 0) queue.close();
    })));
    let open = handlesOf.flat().length;
    try {
      await this.submitAll(requests, handlesOf);
      yield* queue;
    } finally {
      // A caller that stops reading early ends its requests.
      for (const handle of handlesOf.flat()) this.abort(handle.rid);
    }
  }

  /**
   * The vision encoder's output for images (raw, or one processor_output item): `[image tokens, hidden]`, ready to
   * pass back as a `precomputed_embedding` item's `feature`.
   */
  async encodeImages(images: ImageInput[]): Promise<HostTensor> {
    const classified = classifyImages(images);
    if (classified.kind === "none" || classified.kind === "precomputed_embedding") {
      throw new IrisError("INVALID_ARGUMENT", "encodeImages takes raw images or processor_output items");
    }
    const payload = await this.preparer.processImages(classified, this.imageRequest());
    return this.client.encode(payload, { callerBuffers: callerBuffersOf(images), moveWhole: true });
  }

  /**
   * Compiles a structured-output constraint ahead of its requests (`{ jsonSchema }`, `{ regex }` or `{ ebnf }`, as
   * in samplingParams): rejects with INVALID_ARGUMENT naming the problem; a valid one is cached for the requests
   * that follow. Resolves to the milliseconds the compile took (near 0 when it was cached).
   */
  async compileGrammar(constraint: Pick<SamplingParams, "jsonSchema" | "regex" | "ebnf">): Promise<number> {
    const { grammar } = resolveSamplingParams(constraint, this.config.text.vocabSize);
    if (grammar === null) throw new IrisError("INVALID_ARGUMENT", "compileGrammar takes one of jsonSchema, regex or ebnf");
    return this.grammars.compile(grammar);
  }

  /**
   * Empties the prefix cache (SGLang's `flush_cache`), e.g. between benchmark runs. Like SGLang it does nothing
   * while requests are in flight: the result says `success: false` and why.
   */
  async flushCache(): Promise<FlushCacheResult> {
    const result = this.preparing.size > 0
      ? { success: false, message: `${this.preparing.size} requests are still being prepared`, freedPages: 0 }
      : await this.client.flushCache();
    this.log.info(result.success ? `flushed the prefix cache: ${result.freedPages} KV pages freed` : `flushCache refused: ${result.message}`);
    return result;
  }

  /** SGLang's `get_server_info`: the settings the engine runs with, its kernels, version and scheduler state. */
  async getServerInfo(): Promise<ServerInfo> {
    return serverInfo(this.core, this.info, this.options.chatTemplate, this.log.level, await this.client.stats());
  }

  /** Stops the core; requests still running or being prepared fail with ENGINE_SHUTDOWN at once. */
  async shutdown(): Promise<void> {
    this.closing = true;
    for (const preparing of this.preparing.values()) {
      preparing.abort(new IrisError("ENGINE_SHUTDOWN", "the engine was shut down while this request was being prepared"));
    }
    await Promise.all([this.client.shutdown(), this.pool?.close(), this.grammars.close()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Submits one call's prompts, each with its handles; an image several of them name is processed once. */
  private submitAll(requests: readonly SingleRequest[], handlesOf: readonly RequestHandle[][]): Promise<void[]> {
    const sharedImages = SharedImages.of(requests.map((r) => r.images));
    return Promise.all(requests.map((r, i) => this.submit(r, handlesOf[i], sharedImages)));
  }

  /**
   * Prepares one prompt and hands its sample(s) to the core; any failure fails that prompt's results alone. With
   * n > 1 the later samples wait (as "preparing", so an abort still reaches them) for the first one's first output.
   */
  private async submit(single: SingleRequest, handles: RequestHandle[], sharedImages?: ImageShare): Promise<void> {
    const rids = single.samples.map((s) => s.rid);
    let held: string[] = [];
    try {
      if (this.closing) throw new IrisError("ENGINE_SHUTDOWN", "the engine has been shut down");
      for (const rid of rids) {
        if (this.client.isRunning(rid) || this.preparing.has(rid)) {
          throw new IrisError("INVALID_ARGUMENT", `Duplicate request ID detected: ${rid} is still running; give each request its own rid`);
        }
      }
      // Each sample can be aborted on its own; the preparation they share stops once all of them are.
      const own = rids.map(() => new AbortController());
      const shared = new AbortController();
      let alive = own.length;
      for (const c of own) c.signal.addEventListener("abort", () => --alive === 0 && shared.abort(c.signal.reason), { once: true });
      rids.forEach((rid, j) => this.preparing.set(rid, own[j]));
      held = rids;
      // An abort or shutdown while the request is prepared (its images downloaded, say) ends it at once; the
      // signal also stops the downloads, file reads and image jobs themselves.
      const prepared = await untilAborted(this.prepare(single, shared.signal, sharedImages), shared.signal);
      // One sample's payload has one use, the message: Iris's own buffers in it move to the worker.
      const rule = { callerBuffers: callerBuffersOf(single.images), moveWhole: rids.length === 1 };
      this.hand(sampleRequest(prepared, rids[0], 0), handles[0], own[0].signal, rule, () => {
        handles.slice(1).forEach((handle, k) => this.hand(sampleRequest(prepared, handle.rid, k + 1), handle, own[k + 1].signal, rule));
      });
      held = [];
    } catch (err) {
      for (const rid of held) this.preparing.delete(rid);
      const error = err instanceof IrisError ? err : new IrisError("INTERNAL", (err as Error).message, { cause: err });
      for (const handle of handles) handle.fail(error);
    }
  }

  /** Submits one prepared request (unless it was aborted while it waited); `onFirstOutput` runs once either way. */
  private hand(core: CoreRequest, handle: RequestHandle, aborted: AbortSignal, rule: TransferRule, onFirstOutput?: () => void): void {
    const rid = core.rid;
    this.preparing.delete(rid);
    let first = onFirstOutput;
    const release = () => {
      first?.();
      first = undefined;
    };
    if (aborted.aborted) {
      const reason: unknown = aborted.reason;
      handle.fail(reason instanceof IrisError ? reason : new IrisError("ABORTED", "the request was aborted"));
      release();
      return;
    }
    handle.follow(new OutputTracker(this.tokenizer, core.sampling, this.info.eosTokenIds));
    this.client.submit(core, (output) => {
      handle.accept(output);
      release();
    }, (error) => {
      handle.fail(error);
      release();
    }, rule);
    this.log.debug(`request ${rid}: ${core.inputIds.length} prompt tokens, ${core.mm?.imageGrids?.length ?? core.imageKeys.length} images, queued`);
    handle.done.then(
      (r) => this.log.debug(`request ${rid}: ${JSON.stringify(r.metaInfo.finishReason)}, ${r.metaInfo.completionTokens} tokens in ${r.metaInfo.e2eLatency.toFixed(3)} s`),
      (e: IrisError) => this.log.debug(`request ${rid} failed: ${e.code}: ${e.message}`),
    );
  }

  /** A request's image options: the engine's limits and fences, its cancellation and the shared decode budget. */
  private imageRequest(signal?: AbortSignal, shared?: ImageShare): ImageLoadRequest {
    return { ...this.imageLoad, signal, decodeBudget: this.decodeBudget, ...(shared && { shared }) };
  }

  private async prepare(single: SingleRequest, signal: AbortSignal, sharedImages?: ImageShare): Promise<CoreRequest> {
    const sampling = resolveSamplingParams(single.samplingParams, this.config.text.vocabSize);
    // Compiled (or found in the cache) on the grammar worker before anything is queued: a bad one fails here.
    if (sampling.grammar !== null) await this.grammars.compile(sampling.grammar);
    const images = classifyImages(single.images);
    if (single.inputIds) {
      const vocab = this.config.text.vocabSize;
      const bad = single.inputIds.find((id) => id >= vocab);
      if (bad !== undefined) throw new IrisError("INVALID_ARGUMENT", `inputIds holds token id ${bad}, outside the vocabulary of ${vocab}`);
    }
    const source = { prompt: single.prompt, inputIds: single.inputIds, maxInputTokens: this.info.contextLength - 1 };
    const prepared = await this.preparer.prepare(source, images, this.imageRequest(signal, sharedImages));
    const length = prepared.inputIds.length;
    const context = this.info.contextLength;
    if (length >= context) {
      throw new IrisError("CONTEXT_TOO_LONG", `The input (${length} tokens) is longer than the model's context length (${context} tokens).`);
    }
    if (length + sampling.maxNewTokens >= context) {
      throw new IrisError("CONTEXT_TOO_LONG", `Requested token count exceeds the model's maximum context length of ${context} tokens. You requested a total of ${length + sampling.maxNewTokens} tokens: ${length} tokens from the input messages and ${sampling.maxNewTokens} tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.`);
    }
    const inputIds = Int32Array.from(prepared.inputIds);
    const logprobs = resolveLogprobSpec(single.logprobs, length, this.config.text.vocabSize);
    return { ...(logprobs && { logprobs }), rid: single.rid, inputIds, cacheKey: cacheKey(inputIds, this.preparer.imageTokenId, prepared.imageKeys, prepared.imageTokenCounts), mm: prepared.mm, imageKeys: prepared.imageKeys, positions: prepared.positions, sampling };
  }
}

function logReady(log: Logger, modelPath: string, info: CoreInfo, seconds: number): void {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  log.info(`loaded ${modelPath} in ${seconds.toFixed(2)} s: ${(info.parameters / 1e6).toFixed(1)}M parameters (${mib(info.weightBytes)}), ` +
    `KV cache of ${info.maxTotalTokens} tokens (${mib(info.kvCacheBytes)}), context ${info.contextLength}, kernels: ${info.kernels.description}`);
  if (!info.kernels.native) log.warning(`the ${info.kernels.device} backend runs its slow TypeScript kernels: ${info.kernels.description}`);
}

/** `work`, or the signal's reason as soon as it aborts (the work is left to settle on its own). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The ids with each image's tokens replaced by that image's content key, for the prefix cache. Images are told
 * apart by their token counts, not by runs: a Llama 4 image's patch runs are interrupted by tile separators.
 */
function cacheKey(ids: Int32Array, imageTokenId: number, imageKeys: readonly number[], tokenCounts: readonly number[]): Int32Array {
  const key = Int32Array.from(ids);
  if (imageKeys.length === 0) return key; // embeddings without keys: no prefix cache to read them
  let image = 0;
  let used = 0;
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== imageTokenId) continue;
    key[i] = imageKeys[image];
    if (++used === tokenCounts[image]) {
      image++;
      used = 0;
    }
  }
  return key;
}
