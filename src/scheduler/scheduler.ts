import { IrisError, checkArgument, invariant } from "../core/errors.js";
import type { PageAllocator } from "../cache/page-allocator.js";
import type { PrefixCache } from "../cache/prefix-cache.js";
import { BatchBuilder } from "./batch-builder.js";
import { CacheManager } from "./cache-manager.js";
import { NewTokenRatio } from "./new-token-ratio.js";
import type { NewTokenRatioOptions } from "./new-token-ratio.js";
import { admitWaiting } from "./prefill-planner.js";
import { RequestState } from "./request-state.js";
import { RunningSet, WaitingQueue } from "./request-queues.js";
import { countDecodes, planRunning } from "./running-planner.js";
import type { SchedulingContext } from "./scheduling-context.js";
import type { RequestId, RequestInfo, RequestSpec, SampledToken, ScheduledBatch, SchedulerStats } from "./types.js";

export interface SchedulerOptions {
  /** The KV pages to schedule into; shared with `prefixCache`. */
  readonly allocator: PageAllocator;
  /** `RadixCache` over the same allocator, or `NoCache` when prefix caching is off. */
  readonly prefixCache: PrefixCache;
  /** Tokens computed per step, decode and prefill together (SGLang `chunked_prefill_size`); default 8192. */
  readonly maxTokensPerStep?: number;
  /** Requests admitted at once (SGLang `max_running_requests`); default 256. */
  readonly maxRunningRequests?: number;
  readonly newTokenRatio?: NewTokenRatioOptions;
}

/**
 * Continuous batching over a paged KV cache. The engine drives it one step at a time: `schedule()` picks the
 * step's work, the runner computes it and samples one token per entry with `sample`, and
 * `processBatchResult()` records those tokens; the engine then decides which requests are done and calls
 * `finishRequest`. Requests may be added or aborted between steps. Pure bookkeeping: no tensors, no device.
 *
 * To plan step n+1 while step n runs (the overlap of host and device work), the engine splits the recording in
 * two: `commitBatch()` right after the launch advances every request as if its token were known, with a
 * placeholder in its history; `resolveBatch()` fills the placeholders once the tokens are read back. A request
 * that finished in step n may then have an entry in step n+1, which is skipped: one wasted step, no more.
 */
export class Scheduler {
  private readonly requests = new Map<RequestId, RequestState>();
  private readonly waiting = new WaitingQueue();
  private readonly running = new RunningSet();
  private readonly memory: CacheManager;
  private readonly ratio: NewTokenRatio;
  private readonly context: SchedulingContext;
  private readonly maxTokensPerStep: number;
  private readonly maxRunningRequests: number;
  /** Scheduled and not yet committed. */
  private pending: ScheduledBatch | null = null;
  /** Committed and not yet resolved, oldest first, with the requests given a placeholder token. */
  private readonly inFlight: { batch: ScheduledBatch; placeholders: (RequestState | null)[] }[] = [];
  private numBatches = 0;
  private numRetractions = 0;

  constructor(options: SchedulerOptions) {
    this.maxTokensPerStep = options.maxTokensPerStep ?? 8192;
    this.maxRunningRequests = options.maxRunningRequests ?? 256;
    checkArgument(isPositiveInteger(this.maxTokensPerStep), `maxTokensPerStep must be a positive integer`);
    checkArgument(isPositiveInteger(this.maxRunningRequests), `maxRunningRequests must be a positive integer`);
    this.memory = new CacheManager(options.allocator, options.prefixCache);
    this.ratio = new NewTokenRatio(options.newTokenRatio);
    this.context = {
      running: this.running,
      waiting: this.waiting,
      memory: this.memory,
      ratio: this.ratio,
      maxRunningRequests: this.maxRunningRequests,
      retract: (req) => this.retract(req),
      admit: (req) => this.admit(req),
    };
  }

  /**
   * Queues a request. Throws INVALID_ARGUMENT for a malformed spec or a live duplicate id, and OUT_OF_MEMORY when
   * its prompt plus `maxNewTokens` cannot fit the KV pool even with nothing else running.
   */
  addRequest(spec: RequestSpec): void {
    checkArgument(typeof spec.id === "string", "request id must be a string");
    checkArgument(!this.requests.has(spec.id), `request id ${spec.id} is already waiting or running`);
    checkArgument(spec.promptIds.length > 0, `request ${spec.id} has an empty prompt`);
    checkArgument(spec.promptIds.every((id) => Number.isInteger(id) && id >= 0), `request ${spec.id}: bad token id`);
    checkArgument(
      Number.isInteger(spec.maxNewTokens) && spec.maxNewTokens >= 0,
      `request ${spec.id}: maxNewTokens must be a non-negative integer, got ${spec.maxNewTokens}`,
    );
    const { allocator } = this.memory;
    const neededPages = allocator.pagesFor(spec.promptIds.length + Math.max(1, spec.maxNewTokens));
    if (neededPages > allocator.capacity) {
      throw new IrisError(
        "OUT_OF_MEMORY",
        `request ${spec.id} needs ${neededPages} KV pages (${spec.promptIds.length} prompt tokens + maxNewTokens ` +
          `${spec.maxNewTokens}, ${allocator.pageSize} tokens a page) but the KV cache holds ${allocator.capacity}; ` +
          `shorten the prompt, lower maxNewTokens or give the KV cache more memory`,
      );
    }
    const req = new RequestState(spec, allocator.pageSize);
    this.requests.set(req.id, req);
    this.waiting.pushBack(req);
  }

  /** True while any request is waiting or running. */
  hasWork(): boolean {
    return this.requests.size > 0;
  }

  /**
   * The next step's work, or null when there is none: no requests, or (with steps in flight) only requests that
   * wait for their last token to be read back.
   */
  schedule(): ScheduledBatch | null {
    invariant(this.pending === null, "schedule() called before the previous batch was committed");
    if (this.requests.size === 0) return null;
    const retractionsBefore = this.numRetractions;
    const batch = new BatchBuilder(this.maxTokensPerStep, countDecodes(this.context));
    planRunning(this.context, batch);
    const retracted = this.numRetractions > retractionsBefore;
    // After a retraction memory is known to be short: admitting now would only retract again, unless nothing runs.
    if (!retracted || this.running.size === 0) admitWaiting(this.context, batch);
    this.ratio.onStep(retracted);
    if (batch.isEmpty && this.inFlight.length > 0) return null;
    invariant(!batch.isEmpty, `nothing schedulable with ${this.requests.size} requests (${this.describeMemory()})`);
    this.pending = batch.build(++this.numBatches);
    return this.pending;
  }

  /**
   * Records the step's results: `tokens` holds one sampled token per entry with `sample`, in entry order. Entries
   * of requests finished or aborted since `schedule()` are skipped, whatever their token (the runner gives -1 for
   * a request that failed in the step, which the engine aborts first). Returns the tokens appended, per request.
   * The same as `commitBatch` then `resolveBatch`.
   */
  processBatchResult(batch: ScheduledBatch, tokens: ArrayLike<number>): SampledToken[] {
    checkArgument(tokens.length === batch.numSampled, `expected ${batch.numSampled} tokens, got ${tokens.length}`);
    this.commitBatch(batch);
    return this.resolveBatch(batch, tokens);
  }

  /**
   * Advances the requests of a launched step as if its tokens were known: their KV lengths grow by the computed
   * tokens and each sampled entry appends a placeholder, so the next step can be scheduled before this one's
   * tokens are read back.
   */
  commitBatch(batch: ScheduledBatch): void {
    invariant(batch === this.pending, "commitBatch() for a batch that is not the latest scheduled one");
    this.pending = null;
    const placeholders: (RequestState | null)[] = [];
    for (const entry of batch.entries) {
      const req = this.requests.get(entry.requestId);
      const applies = req !== undefined && req.status === "running" && req.kvLength === entry.startPosition;
      if (applies) {
        req.kvLength += entry.numTokens;
        // A recompute over a placeholder (retracted and readmitted within the overlap) shares once it resolves.
        if (entry.isPrefill && req.knownLength < req.kvLength) req.shareWhenResolved = true;
        else if (entry.isPrefill) this.memory.shareComputedPages(req);
      }
      if (!entry.sample) continue;
      if (applies) {
        req.tokenIds.push(PLACEHOLDER);
        req.unresolved++;
      }
      placeholders.push(applies ? req : null);
    }
    this.inFlight.push({ batch, placeholders });
  }

  /**
   * Puts the tokens of the oldest committed step in place of its placeholders (requests that left since are
   * skipped) and returns the tokens recorded, per request.
   */
  resolveBatch(batch: ScheduledBatch, tokens: ArrayLike<number>): SampledToken[] {
    const step = this.inFlight[0];
    invariant(step?.batch === batch, "resolveBatch() for a batch that is not the oldest committed one");
    checkArgument(tokens.length === batch.numSampled, `expected ${batch.numSampled} tokens, got ${tokens.length}`);
    const live = step.placeholders.map((req) => (req !== null && this.requests.get(req.id) === req ? req : null));
    live.forEach((req, i) => {
      if (req !== null) checkArgument(Number.isInteger(tokens[i]) && tokens[i] >= 0, `sampled token ${tokens[i]} is not a token id`);
    });
    this.inFlight.shift();
    const sampled: SampledToken[] = [];
    live.forEach((req, i) => {
      if (req === null) return;
      // The oldest placeholder of the request is this step's.
      const index = req.tokenIds.length - req.unresolved;
      req.tokenIds[index] = tokens[i];
      req.unresolved--;
      sampled.push({ requestId: req.id, token: tokens[i], numOutputTokens: index + 1 - req.promptLength });
      if (req.shareWhenResolved && req.unresolved === 0) {
        req.shareWhenResolved = false;
        if (req.status === "running") this.memory.shareComputedPages(req);
      }
    });
    return sampled;
  }

  /** Retires a request: its computed pages go to the prefix cache, the rest back to the pool. */
  finishRequest(id: RequestId): RequestInfo {
    const req = this.requests.get(id);
    checkArgument(req !== undefined, `finishRequest: unknown request ${id}`);
    return this.remove(req);
  }

  /** Removes a waiting or running request; false when the id is unknown (already finished, say). */
  abortRequest(id: RequestId): boolean {
    const req = this.requests.get(id);
    if (req === undefined) return false;
    this.remove(req);
    return true;
  }

  getRequest(id: RequestId): RequestInfo | undefined {
    return this.requests.get(id)?.info();
  }

  /**
   * The request's token history, live: prompt keys then every token recorded by `processBatchResult`. The runner
   * reads the generated tokens from it rather than keeping a copy.
   */
  tokenHistory(id: RequestId): readonly number[] {
    const req = this.requests.get(id);
    checkArgument(req !== undefined, `tokenHistory: unknown request ${id}`);
    return req.tokenIds;
  }

  /** What the engine reports per token, without copying the request's tokens (`getRequest` does). */
  counters(id: RequestId): { readonly cachedTokens: number; readonly numRetractions: number } | undefined {
    const req = this.requests.get(id);
    return req && { cachedTokens: req.cachedTokens, numRetractions: req.numRetractions };
  }

  stats(): SchedulerStats {
    return {
      numWaiting: this.waiting.size,
      numRunning: this.running.size,
      numRetractions: this.numRetractions,
      numBatches: this.numBatches,
      freePages: this.memory.allocator.freeCount,
      cachedPages: this.memory.prefixCache.sizeInfo().totalPages,
      newTokenRatio: this.ratio.current,
    };
  }

  /** Re-derives the page accounting and the prefix cache's invariants; throws INTERNAL on a violation. */
  checkIntegrity(): void {
    this.memory.checkAccounting(this.running.oldestFirst(), this.waiting.toArray());
  }

  private admit(req: RequestState): void {
    invariant(this.waiting.remove(req), `admitted request ${req.id} is not waiting`);
    req.status = "running";
    req.prefillEnd = req.tokenIds.length;
    this.running.add(req);
  }

  private retract(req: RequestState): void {
    this.memory.release(req);
    this.running.remove(req);
    req.status = "waiting";
    req.numRetractions++;
    this.numRetractions++;
    this.waiting.pushFront(req);
  }

  private remove(req: RequestState): RequestInfo {
    if (this.running.remove(req)) this.memory.release(req);
    else this.waiting.remove(req);
    this.requests.delete(req.id);
    return req.info();
  }

  private describeMemory(): string {
    const { evictablePages, protectedPages } = this.memory.prefixCache.sizeInfo();
    return `${this.memory.allocator.freeCount} free, ${evictablePages} evictable, ${protectedPages} locked pages`;
  }
}

/** A sampled token not read back yet; never a key of the prefix cache (`RequestState.knownLength`). */
const PLACEHOLDER = -1;

function isPositiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}
