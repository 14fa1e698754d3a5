/**
 * The engine's core, on its worker thread: the loop `schedule → runner.step → postprocess`, one step at a time,
 * with requests joining and leaving between steps. A request that fails (bad images, no memory) fails alone.
 */
import { join } from "node:path";
import { loadGenerationConfig } from "../checkpoint/generation-config.js";
import { loadModelConfig, type ModelConfig } from "../checkpoint/model-config.js";
import { IrisError, isIrisError } from "../core/errors.js";
import { NoCache } from "../cache/no-cache.js";
import { PageAllocator } from "../cache/page-allocator.js";
import { RadixCache } from "../cache/radix-cache.js";
import { download } from "../runtime/creation.js";
import { getDevice, joinGroup } from "../runtime/device.js";
import type { LaunchedStep } from "../runner/runner-step.js";
import type { StepTiming } from "../runner/step-clock.js";
import type { StepLogprobs } from "../runner/step-logprobs.js";
import type { ScheduledBatch } from "../scheduler/types.js";
import { Scheduler } from "../scheduler/scheduler.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { OutputTracker } from "./output-tracker.js";
import { RequestLogprobs } from "./request-logprobs.js";
import type { PositionLogprobs } from "../core/logprobs.js";
import type { CoreInfo, CoreOptions, CoreOutput, CoreRequest, FlushCacheResult, FromCore, MultimodalPayload, ToCore } from "./protocol.js";
import type { PrefixCache } from "../cache/prefix-cache.js";
import { describeKernels } from "./kernels-info.js";
import { hostTensor } from "../core/host-tensor.js";
import { checkFits, kvTokensFromFraction, memoryPlan } from "./memory-plan.js";
import { GrammarMatchers, type MaskUpdate } from "../grammar/grammar-matchers.js";
import { StepProfile } from "./step-profile.js";
import { LeaderRunner, type StepRunner } from "./rank-leader.js";
import type { LeaderStart, ToRank } from "./rank-protocol.js";
import { loadRankRunner } from "./rank-runner.js";
import { LOAD_BARRIER_TIMEOUT_MS } from "../runtime/communicator.js";

/** A step whose kernels are enqueued and whose tokens are not read back yet (null: it failed as a whole). */
interface InFlightStep {
  readonly batch: ScheduledBatch;
  readonly launched: LaunchedStep | null;
  /** Host time of scheduling, preparing and launching it (step profile only). */
  readonly launchMs?: number;
}

/** Whether a request's sampling reads its generated tokens on the host (so it cannot run a step ahead). */
function countsOutputsOnHost(s: CoreRequest["sampling"]): boolean {
  return s.minNewTokens > 0 || s.repetitionPenalty !== 1 || s.frequencyPenalty !== 0 || s.presencePenalty !== 0 || s.grammar !== null;
}

interface Active {
  readonly request: CoreRequest;
  readonly tracker: OutputTracker;
  readonly logprobs: RequestLogprobs | null;
  /** The counters of its last full output (null before the first): a token that changes none goes out plain. */
  sent: { readonly cachedTokens: number; readonly numRetractions: number } | null;
}

export class EngineCore {
  private readonly active = new Map<string, Active>();
  private inbox: ToCore[] = [];
  private wake: (() => void) | null = null;
  private stopping = false;
  private inFlight: InFlightStep | null = null;
  /** Structured output's matchers, in the grammar worker (connected before the first request with a grammar). */
  private grammars: GrammarMatchers | null = null;
  /** Requests whose matcher has just opened, to be queued with their first mask. */
  private opened: { request: CoreRequest; update: MaskUpdate }[] = [];
  /** The masks of the constrained requests' next tokens, asked after the last collected step. */
  private masksPending: Promise<void> | null = null;
  /** When the latest step was handed out (step profile only). */
  private lastHandedOut = 0;

  private constructor(
    private readonly scheduler: Scheduler,
    private readonly prefixCache: PrefixCache,
    private readonly runner: StepRunner,
    private readonly tokenizer: Tokenizer,
    private readonly eosTokenIds: readonly number[],
    private readonly send: (message: FromCore) => void,
    /** Whether step n+1 may be launched before step n's tokens are read back. */
    private readonly overlap: boolean,
    private readonly profile: StepProfile | null,
  ) {}

  /**
   * Loads the model and sizes the caches; reports progress through `send`. Under tensor parallelism this is rank 0:
   * it joins the group, tells the other ranks the cache size, loads its shard and waits until every rank loaded.
   */
  static async create(options: CoreOptions, send: (message: FromCore) => void, tp?: LeaderStart): Promise<{ core: EngineCore; info: CoreInfo }> {
    const config: ModelConfig = loadModelConfig(join(options.modelPath, "config.json"));
    const tokenizer = Tokenizer.fromDir(options.modelPath);
    const generation = loadGenerationConfig(options.modelPath);
    const eosTokenIds = [...new Set([...config.text.eosTokenIds, ...generation.eosTokenIds])];
    const device = getDevice(options.device);
    const comm = tp === undefined ? undefined : joinGroup(tp.handle, 0, device);
    const memory = device.backend.memoryInfo?.();
    const kvTokens = options.memFractionStatic !== null && memory !== undefined
      ? kvTokensFromFraction(config, memory, options.memFractionStatic, options.pageSize, options.maxTotalTokens, device.floatDType, options.tpSize,
        options.quantization)
      : options.maxTotalTokens;
    const numPages = Math.ceil(kvTokens / options.pageSize) + 1; // + the padding page
    const profile = StepProfile.fromEnvironment();
    const described = device.backend.description === undefined ? device.name : `${device.name} (${device.backend.description})`;
    const plan = memoryPlan(config, described, (numPages - 1) * options.pageSize, numPages * options.pageSize, device.floatDType,
      options.tpSize, options.quantization);
    send({ type: "plan", plan });
    checkFits(plan, device.kind, options.tpSize);
    for (const peer of tp?.peers ?? []) peer.postMessage({ type: "init", numPages } satisfies ToRank);
    const local = loadRankRunner({
      options, config, device, numPages, eosTokenIds, comm, timeSteps: profile !== null,
      onProgress: (loaded, total) => send({ type: "progress", stage: "weights", loaded, total }),
    });
    await comm?.barrier(LOAD_BARRIER_TIMEOUT_MS);
    const runner = tp === undefined ? local : new LeaderRunner(local, tp.peers, comm!);
    const allocator = new PageAllocator({ numPages, pageSize: options.pageSize });
    const prefixCache = options.enablePrefixCache ? new RadixCache(allocator) : new NoCache(options.pageSize);
    const scheduler = new Scheduler({
      allocator,
      prefixCache,
      maxTokensPerStep: options.maxTokensPerStep,
      maxRunningRequests: options.maxRunningRequests,
    });
    const info: CoreInfo = { ...plan, contextLength: options.contextLength, eosTokenIds, kernels: describeKernels(options.device) };
    return { core: new EngineCore(scheduler, prefixCache, runner, tokenizer, eosTokenIds, send, options.overlapSchedule, profile), info };
  }

  /** Queues a message from the caller's thread; the loop handles it between steps. */
  receive(message: ToCore): void {
    this.inbox.push(message);
    this.wake?.();
  }

  /**
   * Runs until a shutdown message arrives. With the overlap on, step n+1 is scheduled, prepared and launched
   * before step n's tokens are read back, so the host's work hides behind the device's; requests whose sampling
   * counts their outputs on the host (penalties, a minimum length) wait for the previous step instead.
   */
  async run(): Promise<void> {
    while (!this.stopping) {
      this.handleInbox();
      if (this.stopping) break;
      if (!this.scheduler.hasWork() && this.inFlight === null) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      if (this.inFlight !== null && !this.mayOverlap()) await this.finishStep();
      // A constrained request's mask needs its previous token: the grammar worker answers after that step's collect.
      if (this.masksPending !== null) await this.masksPending;
      this.masksPending = null;
      const next = this.scheduler.hasWork() ? this.launchStep() : null;
      if (this.inFlight !== null) await this.finishStep();
      this.inFlight = next;
      // Let messages from the caller's thread in between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.inFlight !== null) await this.finishStep();
    this.profile?.write();
    for (const rid of [...this.active.keys()]) this.fail(rid, new IrisError("ENGINE_SHUTDOWN", "the engine was shut down"));
  }

  private mayOverlap(): boolean {
    if (!this.overlap) return false;
    for (const { request } of this.active.values()) if (countsOutputsOnHost(request.sampling)) return false;
    return true;
  }

  /** Schedules a step, does its host work and enqueues its kernels; the scheduler advances past it. */
  private launchStep(): InFlightStep | null {
    const started = this.profile === null ? 0 : performance.now();
    const batch = this.scheduler.schedule();
    if (batch === null) return null;
    try {
      const prepared = this.runner.prepare(batch.entries);
      // Requests whose images failed leave first, so the scheduler skips their entries.
      for (const [rid, error] of prepared.failures) this.fail(rid, error);
      const launched = this.runner.launch(prepared);
      this.scheduler.commitBatch(batch);
      return { batch, launched, ...(this.profile && { launchMs: performance.now() - started }) };
    } catch (err) {
      // A failed rank of a tensor-parallel group takes the engine down (the worker reports it to every request).
      if (isIrisError(err, "RANK_FAILED")) throw err;
      // A failure of the whole step is a bug; the requests in it fail, the engine goes on.
      this.failAll(batch, err);
      this.scheduler.commitBatch(batch);
      return { batch, launched: null };
    }
  }

  /** Reads the in-flight step's tokens back (the loop's one wait) and hands them to their requests. */
  private async finishStep(): Promise<void> {
    const { batch, launched, launchMs } = this.inFlight!;
    this.inFlight = null;
    const waitStart = this.profile === null ? 0 : performance.now();
    let tokens: Int32Array = new Int32Array(batch.numSampled).fill(-1);
    let logprobs: StepLogprobs = new Map();
    let timing: StepTiming | undefined;
    if (launched !== null) {
      try {
        ({ tokens, logprobs, timing } = await this.runner.collect(launched));
      } catch (err) {
        if (isIrisError(err, "RANK_FAILED")) throw err;
        this.failAll(batch, err);
      }
    }
    const handOutStart = this.profile === null ? 0 : performance.now();
    const sampled = this.scheduler.resolveBatch(batch, tokens);
    for (const [rid, { input }] of logprobs) this.active.get(rid)?.logprobs?.add(input);
    const outputs: CoreOutput[] = [];
    const plainRids: string[] = [], plainTokens: number[] = [];
    const constrained: { rid: string; token: number }[] = [];
    for (const { requestId, token } of sampled) {
      const active = this.active.get(requestId);
      if (!active) continue;
      const outcome = active.tracker.push(token);
      if (active.request.sampling.grammar !== null && !outcome.finishReason) constrained.push({ rid: requestId, token });
      const own = logprobs.get(requestId)?.output;
      if (outcome.finishReason === null && own === undefined && this.goesOutPlain(active, requestId)) {
        plainRids.push(requestId);
        plainTokens.push(token);
      } else {
        outputs.push(this.output(requestId, [token], outcome.finishReason, own ? [own] : undefined));
      }
      if (outcome.finishReason) this.finish(requestId);
    }
    if (outputs.length || plainRids.length) {
      this.send({ type: "outputs", outputs, ...(plainRids.length > 0 && { plain: { rids: plainRids, tokens: Int32Array.from(plainTokens) } }) });
    }
    if (constrained.length > 0) this.masksPending = this.grammars!.advance(constrained).then((updates) => this.takeMasks(updates));
    if (this.profile !== null) {
      const now = performance.now();
      this.profile.add({
        sequences: batch.entries.length, tokens: batch.entries.reduce((n, e) => n + e.numTokens, 0), launchMs: launchMs ?? 0,
        waitMs: handOutStart - waitStart, handOutMs: now - handOutStart, turnMs: now - this.lastHandedOut, ...(timing && { timing }),
      });
      this.lastHandedOut = now;
    }
  }

  /** The grammar's masks of the constrained requests' next tokens; a matcher's failure fails its request. */
  private takeMasks(updates: readonly MaskUpdate[]): void {
    for (const u of updates) {
      if (!this.active.has(u.rid)) continue;
      if (u.error) this.fail(u.rid, IrisError.fromJSON(u.error));
      else if (u.mask !== null) this.runner.setTokenMask(u.rid, u.mask);
    }
  }

  private failAll(batch: ScheduledBatch, err: unknown): void {
    const error = err instanceof IrisError ? err : new IrisError("INTERNAL", `a model step failed: ${(err as Error).message}`);
    for (const entry of batch.entries) this.fail(entry.requestId, error);
  }

  private handleInbox(): void {
    const messages = this.inbox;
    this.inbox = [];
    for (const message of messages) {
      if (message.type === "add") this.add(message.request);
      else if (message.type === "abort") this.fail(message.rid, new IrisError("ABORTED", "the request was aborted"));
      else if (message.type === "encode") this.encode(message.id, message.mm);
      else if (message.type === "flush") this.send({ type: "flushed", id: message.id, result: this.flushCache() });
      else if (message.type === "stats") this.send({ type: "stats", id: message.id, stats: this.scheduler.stats() });
      else if (message.type === "shutdown") this.stopping = true;
      else if (message.type === "grammar-port") this.grammars = new GrammarMatchers(message.port);
    }
    const opened = this.opened;
    this.opened = [];
    for (const { request, update } of opened) {
      if (this.active.get(request.rid)?.request !== request) {
        this.grammars?.close(request.rid);
        continue;
      }
      if (update.error) this.fail(request.rid, IrisError.fromJSON(update.error));
      else if (this.queue(request)) this.runner.setTokenMask(request.rid, update.mask!);
    }
  }

  private add(request: CoreRequest): void {
    // The caller's side refuses duplicate ids; one reaching here would corrupt the running request's state.
    if (this.active.has(request.rid)) return;
    const tracker = new OutputTracker(this.tokenizer, request.sampling, this.eosTokenIds, { textOnlyForStops: true });
    const logprobs = request.logprobs ? new RequestLogprobs(request.logprobs, request.inputIds) : null;
    this.active.set(request.rid, { request, tracker, logprobs, sent: null });
    if (request.sampling.maxNewTokens === 0) {
      this.send({ type: "outputs", outputs: [this.output(request.rid, [], { type: "length", length: 0 })] });
      this.active.delete(request.rid);
      return;
    }
    const grammar = request.sampling.grammar;
    if (grammar === null) {
      this.queue(request);
      return;
    }
    if (this.grammars === null) {
      this.fail(request.rid, new IrisError("INTERNAL", "internal error: a request with a grammar reached the core before the grammar worker's port"));
      return;
    }
    // The request waits (active, so an abort still finds it) until its matcher is open with the first mask.
    const stops = [...this.eosTokenIds, ...request.sampling.stopTokenIds];
    void this.grammars.open(request.rid, grammar, stops).then((update) => {
      this.opened.push({ request, update });
      this.wake?.();
    });
  }

  /** Hands a request to the scheduler and the runner; false when it failed there. */
  private queue(request: CoreRequest): boolean {
    try {
      // Input logprobs need the logits of their prompt rows: the prefix cache may supply only the tokens before them.
      const start = request.logprobs?.startLen ?? -1;
      this.scheduler.addRequest({
        id: request.rid, promptIds: Array.from(request.cacheKey), maxNewTokens: request.sampling.maxNewTokens,
        ...(start >= 0 && { maxCachedTokens: Math.max(start - 1, 0) }),
      });
      this.runner.addRequest({
        id: request.rid, inputIds: request.inputIds, positions: request.positions, mm: request.mm, imageKeys: request.imageKeys,
        sampling: request.sampling, history: this.scheduler.tokenHistory(request.rid), logprobs: request.logprobs,
      });
      return true;
    } catch (err) {
      this.fail(request.rid, err instanceof IrisError ? err : new IrisError("INTERNAL", (err as Error).message));
      return false;
    }
  }

  /** SGLang's flush_cache: only with no request in flight, when every cached prefix is unlocked. */
  private flushCache(): FlushCacheResult {
    if (this.active.size > 0) return { success: false, message: `${this.active.size} requests are still running`, freedPages: 0 };
    return { success: true, freedPages: this.prefixCache.evict(Number.MAX_SAFE_INTEGER) };
  }

  private encode(id: number, mm: MultimodalPayload): void {
    try {
      const embeddings = this.runner.encodeImages(mm);
      download(embeddings).then(
        (data) => this.send({ type: "encoded", id, embeddings: hostTensor("F32", embeddings.shape, data as Float32Array) }),
        (err: Error) => this.send({ type: "encoded", id, error: { code: "INTERNAL", message: `reading the embeddings back failed: ${err.message}` } }),
      ).finally(() => embeddings.dispose());
    } catch (err) {
      const error = err instanceof IrisError ? err : new IrisError("INTERNAL", (err as Error).message);
      this.send({ type: "encoded", id, error: error.toJSON() });
    }
  }

  /** Whether a token without logprobs or an end can go out plain: nothing else about its request changed. */
  private goesOutPlain(active: Active, rid: string): boolean {
    const counters = this.scheduler.counters(rid);
    const sent = active.sent;
    return sent !== null && active.logprobs === null && counters !== undefined &&
      counters.cachedTokens === sent.cachedTokens && counters.numRetractions === sent.numRetractions;
  }

  private finish(rid: string): void {
    if (this.active.get(rid)?.request.sampling.grammar) this.grammars?.close(rid);
    if (this.scheduler.counters(rid)) this.scheduler.finishRequest(rid);
    this.runner.removeRequest(rid);
    this.active.delete(rid);
  }

  /** Ends a request with an abort reason carrying the error; the caller's side turns it into a rejection. */
  private fail(rid: string, error: IrisError): void {
    const active = this.active.get(rid);
    if (!active) return;
    if (active.request.sampling.grammar !== null) this.grammars?.close(rid);
    const output = this.output(rid, [], active.tracker.abort(error.message, error.code).finishReason);
    this.scheduler.abortRequest(rid);
    this.runner.removeRequest(rid);
    this.active.delete(rid);
    this.send({ type: "outputs", outputs: [output] });
  }

  private output(rid: string, tokens: number[], finishReason: CoreOutput["finishReason"], outputLogprobs?: PositionLogprobs[]): CoreOutput {
    const active = this.active.get(rid)!;
    const counters = this.scheduler.counters(rid);
    const inputLogprobs = tokens.length > 0 ? active.logprobs?.takeInput() : undefined;
    active.sent = { cachedTokens: counters?.cachedTokens ?? 0, numRetractions: counters?.numRetractions ?? 0 };
    return {
      ...(inputLogprobs && { inputLogprobs }), ...(outputLogprobs && { outputLogprobs }),
      rid,
      newTokenIds: tokens,
      finished: finishReason !== null,
      finishReason,
      promptTokens: active.request.inputIds.length,
      completionTokens: active.tracker.completionTokens,
      cachedTokens: counters?.cachedTokens ?? 0,
      numRetractions: counters?.numRetractions ?? 0,
    };
  }
}
