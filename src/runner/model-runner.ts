/**
 * Runs the steps the scheduler plans, each in three phases: `prepare` does the host work (each token's id,
 * position and cache slot, the page tables, sampling parameters) and uploads it into buffers kept across steps;
 * `launch` enqueues the forward pass and the sampling inside the step arena, waiting for nothing; `collect` reads
 * the sampled tokens back (the step's one wait) and hands them to the requests. A decode token that the previous
 * step sampled is taken from that step's tokens on the device, so step n+1 can be prepared and launched before
 * step n is collected. The runner owns the KV cache memory and the per-request state the model needs between steps.
 */
import type { LayerKVCache } from "../attention/attention-batch.js";
import { IrisError } from "../core/errors.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";
import { gatherRows } from "../kernels/gather-rows.js";
import { scatterRows } from "../kernels/scatter-rows.js";
import type { VisionLanguageModel } from "../models/model.js";
import type { Arena } from "../runtime/backend.js";
import { download, downloadInt32, empty } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { DecodeGraphs } from "./decode-graphs.js";
import { ImageEmbeddings } from "./image-embeddings.js";
import { DEFAULT_VISION_TOKEN_BUDGET } from "./vision-passes.js";
import { PageTablePool } from "./page-table-pool.js";
import { warmProducts, type WarmupReport } from "./product-warmup.js";
import { RunnerRequest, type RunnerRequestSpec } from "./runner-request.js";
import { Sampler, skipSampling } from "./sampler.js";
import { launchBound, padSequences, StepInputs } from "./step-inputs.js";
import { StepClock, type StepMarks } from "./step-clock.js";
import type { LaunchedStep, ModelRunnerOptions, PreparedStep, StepEntry, StepResult, StepWork } from "./runner-step.js";
import { StepLogprobsPlanner, type LogprobRow } from "./step-logprobs.js";


/** Arena bytes before the first step grows it to what a step needs. */
const INITIAL_ARENA_BYTES = 1 << 20;

export class ModelRunner {
  private readonly caches: LayerKVCache[];
  private readonly requests = new Map<string, RunnerRequest>();
  private requestCounter = 0;
  private readonly arena: Arena;
  private readonly images: ImageEmbeddings;
  private readonly inputs: StepInputs;
  private readonly pages: PageTablePool;
  private readonly sampler: Sampler;
  private readonly logprobs: StepLogprobsPlanner;
  private readonly graphs: DecodeGraphs | null;
  /** Two buffers of sampled tokens, used in turn: a step reads the previous step's while writing its own. */
  private readonly sampledTokens: [Tensor, Tensor];
  private stepCount = 0;
  /** Requests sampled by the latest launched step, and their rows in its tokens. */
  private lastSampled = new Map<RunnerRequest, number>();
  private readonly clock: StepClock | null;
  /** Whether this runner samples: the only rank of its group, or rank 0 of a tensor-parallel group. */
  private readonly samples: boolean;

  constructor(readonly model: VisionLanguageModel, readonly device: Device, private readonly options: ModelRunnerOptions) {
    const text = model.config.text;
    const slots = options.numPages * options.pageSize;
    // A tensor-parallel rank caches only its KV heads.
    this.caches = Array.from({ length: text.numLayers }, () => ({
      k: empty(device, [slots, model.kvHeads, text.headDim]),
      v: empty(device, [slots, model.kvHeads, text.headDim]),
    }));
    this.samples = (options.comm?.rank ?? 0) === 0;
    const maxSequences = options.maxRunningRequests;
    this.arena = device.backend.createArena(INITIAL_ARENA_BYTES);
    this.images = new ImageEmbeddings(model, device, this.arena, options.embeddingCacheBytes ?? 256 * 2 ** 20,
      options.visionTokenBudget ?? DEFAULT_VISION_TOKEN_BUDGET);
    this.inputs = new StepInputs(device, {
      maxTokens: options.maxTokensPerStep + maxSequences, maxSequences, positionRows: model.positionRows, queryScales: model.queryScales !== null,
    });
    this.pages = new PageTablePool(device, Math.ceil(options.contextLength / options.pageSize), maxSequences);
    this.sampler = new Sampler(device, maxSequences, text.vocabSize, options.eosTokenIds);
    this.logprobs = new StepLogprobsPlanner(device);
    this.sampledTokens = [empty(device, [maxSequences], "I32"), empty(device, [maxSequences], "I32")];
    const buckets = (options.graphBuckets ?? []).map((b) => Math.min(b, maxSequences));
    const capture = device.backend.graphs;
    this.graphs = capture !== undefined && buckets.length > 0 ? new DecodeGraphs(device, capture, buckets) : null;
    const marks = device.backend.timingMarks;
    this.clock = options.timeSteps && marks !== undefined ? new StepClock(marks) : null;
  }

  /**
   * Every matrix product of the model once at each token count bucket a step or a vision pass can bring (cuda: the
   * algorithm choices and kernel module loads that would otherwise stall the first steps; see product-warmup.ts).
   */
  warmProducts(): WarmupReport {
    const { maxTokensPerStep, maxRunningRequests, visionTokenBudget = DEFAULT_VISION_TOKEN_BUDGET } = this.options;
    const maxRows = Math.max(maxTokensPerStep + maxRunningRequests, visionTokenBudget);
    const scope = (fn: () => void) => this.device.inArena(this.arena, () => this.device.scratch(fn));
    return warmProducts(this.device, this.model.parameters.products, { maxRows, scope });
  }

  /** Decode graphs captured so far. */
  get capturedGraphs(): number {
    return this.graphs?.captured ?? 0;
  }

  addRequest(spec: RunnerRequestSpec): void {
    const seed = (this.options.seed + this.requestCounter++) >>> 0;
    this.requests.set(spec.id, new RunnerRequest(spec, this.model.imageTokenId, seed));
  }

  removeRequest(id: string): void {
    const req = this.requests.get(id);
    if (req?.imageEmbeddings) this.images.release(req.imageEmbeddings);
    this.requests.delete(id);
    this.pages.remove(id);
  }

  /** Structured output: the grammar's mask of request `id`'s next token (bit t & 31 of word t >> 5). */
  setTokenMask(id: string, mask: Int32Array): void {
    this.request(id).setTokenMask(mask);
  }

  /** The vision encoder alone, for `Engine.encodeImages`: [image tokens, hidden], owned by the caller. */
  encodeImages(mm: MultimodalPayload): Tensor {
    return this.images.encode(mm);
  }

  /** Drops the vision embedding cache (requests keep the embeddings they hold). */
  flushEmbeddingCache(): void {
    this.images.flush();
  }

  /** One whole step: prepare, launch, collect. */
  async step(entries: readonly StepEntry[]): Promise<StepResult> {
    return this.collect(this.launch(this.prepare(entries)));
  }

  /**
   * Host work of a step and its uploads. The images of requests that first need them are encoded here; a request
   * whose images fail is left out of the step and reported in `failures`.
   */
  prepare(allEntries: readonly StepEntry[]): PreparedStep {
    const failures = new Map<string, IrisError>();
    // Every request that first needs its images in this step: encoded together (ImageEmbeddings.acquireAll).
    const needing = allEntries.map((e) => this.request(e.requestId)).filter((req, i) => this.needsImages(req, allEntries[i]));
    const acquire = () => this.images.acquireAll(needing.map((req) => ({ mm: req.mm!, key: req.imagesKey, expectedRows: req.imageRowOf.size })));
    // Timed steps time their vision encodes too: the tower's device time, inside the gap before the step.
    const { result: acquired, marks: visionMarks } = this.clock !== null && needing.length > 0
      ? this.clock.span(acquire)
      : { result: acquire(), marks: undefined };
    needing.forEach((req, i) => {
      const got = acquired[i];
      if (got instanceof IrisError) failures.set(req.id, got);
      else req.imageEmbeddings = got;
    });
    const entries = allEntries.filter((e) => !failures.has(e.requestId));
    const numSampled = allEntries.filter((e) => e.sample).length;
    return { allEntries, entries, failures, numSampled, work: entries.length === 0 ? null : this.stage(entries), ...(visionMarks && { visionMarks }) };
  }

  /** Enqueues the forward pass and the sampling of a prepared step inside the step arena. */
  launch(prepared: PreparedStep): LaunchedStep {
    const work = prepared.work;
    const buffer = this.sampledTokens[this.stepCount++ % 2];
    const previous = this.sampledTokens[this.stepCount % 2];
    this.lastSampled = new Map(work?.sampled.map((req, i) => [req, i]) ?? []);
    if (work === null) {
      this.clock?.discard(prepared.visionMarks ?? null);
      return { prepared, readBack: Promise.resolve({ sampled: new Int32Array(0), logprobs: null }) };
    }
    const out = buffer.narrow(0, work.sampled.length);
    const logprobs = work.logprobs === null ? null : this.logprobs.reserve(work.logprobs, this.stepCount % 2);
    const enqueue = (): void => {
      this.device.inArena(this.arena, () => this.forward(work, previous, out, logprobs));
      this.graphs?.capturePending();
    };
    let marks: StepMarks | undefined;
    try {
      if (this.clock !== null) marks = this.clock.bracket(enqueue, prepared.visionMarks ?? null);
      else enqueue();
    } finally {
      this.arena.reset();
    }
    const readBack = Promise.all([
      work.sampled.length ? downloadInt32(out) : new Int32Array(0),
      logprobs && Promise.all([download(logprobs.values), download(logprobs.ids)]),
    ]).then(([sampled, values]) => ({ sampled, logprobs: values as [Float32Array, Int32Array] | null }));
    readBack.catch(() => {}); // collect awaits it and reports a failure; until then it must not count as unhandled
    return { prepared, readBack, ...(marks && { marks }) };
  }

  /**
   * Waits for a launched step's tokens (the caller records them in the requests' token histories). The tokens come
   * in entry order, one per entry with `sample`; a failed request's token is -1.
   */
  async collect(launched: LaunchedStep): Promise<StepResult> {
    const { prepared } = launched;
    const { sampled, logprobs: values } = await launched.readBack;
    const plan = prepared.work?.logprobs ?? null;
    const logprobs = plan === null ? new Map() : this.logprobs.collect(plan, values!, sampled, prepared.work!.sampled);
    const tokens = new Int32Array(prepared.numSampled).fill(-1);
    let next = 0, k = 0;
    for (const entry of prepared.allEntries) {
      if (!entry.sample) continue;
      if (!prepared.failures.has(entry.requestId)) tokens[k] = sampled[next++];
      k++;
    }
    const timing = launched.marks && { ...this.clock!.read(launched.marks), graphBucket: prepared.work?.bucket ?? null };
    return { tokens, failures: prepared.failures, logprobs, ...(timing && { timing }) };
  }

  /** Fills the step inputs' host arrays, uploads them, and prepares the sampling. */
  private stage(entries: readonly StepEntry[]): StepWork {
    const inp = this.inputs;
    const P = this.model.positionRows;
    const { pageSize } = this.options;
    const sampled: RunnerRequest[] = [];
    const imageParts: { embeddings: Tensor; rows: number }[] = [];
    const inputRows: (LogprobRow & { row: number })[] = [];
    let row = 0, carried = 0, imageRows = 0, maxQueryLen = 0, maxKvLen = 0;
    inp.queryStart.host[0] = 0;
    entries.forEach((entry, s) => {
      const req = this.request(entry.requestId);
      const kvLen = entry.startPosition + entry.numTokens;
      inp.kvLens.host[s] = kvLen;
      inp.queryStart.host[s + 1] = row + entry.numTokens;
      inp.sequenceRows.host[s] = this.pages.sync(req.id, entry.pageTable, Math.ceil(kvLen / pageSize));
      inp.slotMapping.host.set(entry.slots, row);
      const previousRow = this.lastSampled.get(req);
      const firstImageRow = imageRows;
      for (let i = 0; i < entry.numTokens; i++, row++) {
        const index = entry.startPosition + i;
        if (previousRow !== undefined && index === req.newestLaunchedIndex) {
          // Sampled by the previous step: taken from its tokens on the device (a placeholder here).
          inp.tokenIds.host[row] = -1;
          inp.carriedRows.host[carried] = row;
          inp.carriedFrom.host[carried++] = previousRow;
        } else {
          inp.tokenIds.host[row] = req.tokenAt(index);
        }
        req.writePosition(index, P, inp.positions.host, row * P);
        if (req.predictsPrompt(index)) inputRows.push({ req, position: index + 1, row });
        inp.cachePositions[row] = index;
        const imageRow = req.imageRowOf.get(index);
        if (imageRow !== undefined) {
          inp.imageRows.host[imageRows] = row;
          inp.imageSourceRows.host[imageRows++] = imageRow;
        }
      }
      if (imageRows > firstImageRow) imageParts.push({ embeddings: req.imageEmbeddings!, rows: imageRows - firstImageRow });
      if (entry.sample) {
        inp.logitRows.host[sampled.length] = row - 1;
        sampled.push(req);
      }
      maxQueryLen = Math.max(maxQueryLen, entry.numTokens);
      maxKvLen = Math.max(maxKvLen, kvLen);
    });
    const bucket = this.graphBucket(entries, imageRows + inputRows.length);
    if (bucket !== null) padSequences(inp, entries.length, bucket, this.pages.paddingRow());
    const T = bucket ?? row, S = bucket ?? entries.length, logitRows = bucket ?? sampled.length + inputRows.length;
    inputRows.forEach((input, k) => (inp.logitRows.host[sampled.length + k] = input.row));
    if (inp.queryScales !== null) this.model.queryScales!(inp.cachePositions.subarray(0, T), inp.queryScales.host);
    for (const [buffer, count] of [[inp.tokenIds, T], [inp.positions, T * P], [inp.slotMapping, T], [inp.queryStart, S + 1],
      [inp.kvLens, S], [inp.sequenceRows, S], [inp.logitRows, logitRows], [inp.imageRows, imageRows],
      [inp.imageSourceRows, imageRows], [inp.carriedRows, carried], [inp.carriedFrom, carried]] as const) buffer.put(count);
    inp.queryScales?.put(T);
    for (const req of sampled) req.launchedTokens++;
    const cap = this.options.contextLength;
    return {
      tokens: T, sequences: S, bucket, carried, imageParts, sampled,
      // Only rank 0 samples: the other ranks neither draw nor know the grammars' masks.
      sampling: this.samples ? this.sampler.prepare(sampled) : skipSampling(sampled.length),
      inputRows: inputRows.length, logprobs: this.samples ? this.logprobs.plan(sampled, inputRows) : null,
      // A decode step's attention is launched for the longest context, so one graph serves every KV length and an
      // eager decode step runs the very kernels its graph would (each sequence splits its own keys on the device).
      maxQueryLen: launchBound(maxQueryLen, cap), maxKvLen: maxQueryLen === 1 ? cap : launchBound(maxKvLen, cap),
    };
  }

  /** The graph bucket of a step of one sampled token per sequence with no image or prompt-logprob rows, if any. */
  private graphBucket(entries: readonly StepEntry[], extraRows: number): number | null {
    if (this.graphs === null || extraRows > 0 || !entries.every((e) => e.numTokens === 1 && e.sample)) return null;
    return this.graphs.bucketFor(entries.length);
  }

  /**
   * The step's kernels, in the arena: the tokens the previous step sampled put in place, the model (replayed as a
   * graph when the step has a bucket), the sampler.
   */
  private forward(work: StepWork, previousTokens: Tensor, out: Tensor, logprobs: { values: Tensor; ids: Tensor } | null): void {
    const inp = this.inputs;
    if (work.carried > 0) {
      const carriedIds = gatherRows(previousTokens.view([-1, 1]), inp.carriedFrom.view(work.carried));
      scatterRows(inp.tokenIds.view(work.tokens).view([work.tokens, 1]), inp.carriedRows.view(work.carried), carriedIds);
    }
    const logits = work.bucket === null
      ? this.modelForward(work)
      : this.graphs!.run(work.bucket, this.pages.generation, () => this.modelForward(work), this.clock);
    const B = work.sampled.length;
    // The logprobs of sampled rows read the logits as sampled; nothing else does.
    const keepLogits = (work.logprobs?.outputs ?? 0) > 0;
    const sampledLogits = B > 0 && this.samples ? this.sampler.launch(logits.shape[0] > B ? logits.narrow(0, B) : logits, work.sampling, out, keepLogits) : null;
    if (B > 0) this.options.comm?.broadcast(out, 0);
    if (work.logprobs !== null) {
      this.logprobs.launch(work.logprobs, sampledLogits, work.inputRows > 0 ? logits.narrow(B, work.inputRows) : null, B > 0 ? out : null, logprobs!);
    }
  }

  /** The model from the step inputs to the logits of the step's logit rows (image rows and page table gathered). */
  private modelForward(work: StepWork): Tensor {
    const inp = this.inputs;
    const { tokens: T, sequences: S } = work;
    const P = this.model.positionRows;
    let images = null;
    if (work.imageParts.length > 0) {
      const count = work.imageParts.reduce((n, part) => n + part.rows, 0);
      const embeddings = empty(this.device, [count, this.model.embeddingSize]);
      let at = 0;
      for (const part of work.imageParts) {
        gatherRows(part.embeddings, inp.imageSourceRows.view(part.rows, at), embeddings.narrow(at, part.rows));
        at += part.rows;
      }
      images = { rows: inp.imageRows.view(count), embeddings };
    }
    return this.model.forward({
      inputIds: inp.tokenIds.view(T),
      positions: inp.positions.view(T * P).view([T, P]),
      queryScales: inp.queryScales?.view(T) ?? null,
      images,
      attention: {
        slotMapping: inp.slotMapping.view(T),
        caches: this.caches,
        meta: {
          queryStart: inp.queryStart.view(S + 1),
          kvLens: inp.kvLens.view(S),
          pageTable: gatherRows(this.pages.tensor, inp.sequenceRows.view(S)),
          pageSize: this.options.pageSize,
          maxQueryLen: work.maxQueryLen,
          maxKvLen: work.maxKvLen,
        },
      },
      logitRows: inp.logitRows.view(work.bucket ?? work.sampled.length + work.inputRows),
    });
  }

  private needsImages(req: RunnerRequest, entry: StepEntry): boolean {
    if (req.imageEmbeddings !== null || req.imageRowOf.size === 0) return false;
    for (let i = entry.startPosition; i < entry.startPosition + entry.numTokens; i++) if (req.imageRowOf.has(i)) return true;
    return false;
  }

  private request(id: string): RunnerRequest {
    const req = this.requests.get(id);
    if (!req) throw new IrisError("INTERNAL", `internal error: the runner has no request ${id}`);
    return req;
  }
}
