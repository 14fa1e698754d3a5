/**
 * A fake runner and a fake engine loop for scheduler tests. The runner keeps a simulated KV store (one token id
 * per slot): it writes each computed token's id into its slot and, to "sample", reads the whole sequence back
 * through the page table and hashes it. A wrong slot, page table, prefix match or eviction therefore shows up as
 * a wrong output, and the outputs must equal `referenceOutput`, which never sees the scheduler.
 */
import assert from "node:assert/strict";
import { PageAllocator } from "../../../src/cache/page-allocator.js";
import type { PrefixCache } from "../../../src/cache/prefix-cache.js";
import { NoCache } from "../../../src/cache/no-cache.js";
import { RadixCache } from "../../../src/cache/radix-cache.js";
import { isIrisError } from "../../../src/core/errors.js";
import { Scheduler } from "../../../src/scheduler/scheduler.js";
import { rng } from "../../helpers/rng.js";
import type { NewTokenRatioOptions } from "../../../src/scheduler/new-token-ratio.js";
import type { RequestInfo, RequestSpec, ScheduledBatch } from "../../../src/scheduler/types.js";

export const VOCAB = 1000;

/** The fake model: a deterministic hash of the whole sequence. */
export function nextToken(sequence: readonly number[]): number {
  let hash = 2166136261;
  for (const token of sequence) hash = Math.imul(hash ^ token, 16777619) >>> 0;
  return hash % VOCAB;
}

/** The fake engine's stop rule, besides the output limit. */
export const isStopToken = (token: number) => token % 211 === 0;

export interface Job {
  readonly spec: RequestSpec;
  readonly arrivalStep: number;
  /** Where the engine stops the request (at most maxNewTokens), unless a stop token comes first. */
  readonly outputLimit: number;
}

export function job(id: string, promptIds: number[], outputLimit: number, arrivalStep = 0, maxNewTokens = outputLimit): Job {
  return { spec: { id, promptIds, maxNewTokens }, arrivalStep, outputLimit };
}

export function referenceOutput(j: Job): number[] {
  const sequence = [...j.spec.promptIds];
  const output: number[] = [];
  while (output.length < Math.max(1, j.outputLimit)) {
    const token = nextToken(sequence);
    sequence.push(token);
    output.push(token);
    if (isStopToken(token)) break;
  }
  return output;
}

export class FakeRunner {
  private readonly kv: Int32Array;

  constructor(private readonly allocator: PageAllocator) {
    this.kv = new Int32Array(allocator.numPages * allocator.pageSize).fill(-1);
  }

  /** @param history the scheduler's token history of a request (what a real runner reads its tokens from) */
  run(batch: ScheduledBatch, truth: (id: string) => readonly number[], history: (id: string) => readonly number[]): number[] {
    const pageSize = this.allocator.pageSize;
    const slotOf = (pageTable: readonly number[], pos: number) =>
      pageTable[Math.floor(pos / pageSize)] * pageSize + (pos % pageSize);
    const seen = new Set<string>();
    const sampled: number[] = [];
    for (const entry of batch.entries) {
      assert.ok(!seen.has(entry.requestId), "a request appears once per batch");
      seen.add(entry.requestId);
      const tokens = truth(entry.requestId);
      const end = entry.startPosition + entry.numTokens;
      const tokenHistory = history(entry.requestId);
      assert.equal(entry.slots.length, entry.numTokens);
      assert.ok(entry.pageTable.length * pageSize >= end, "page table covers the computed tokens");
      for (let i = 0; i < entry.numTokens; i++) {
        const pos = entry.startPosition + i;
        assert.equal(tokenHistory[pos], tokens[pos], `token ${pos} of ${entry.requestId} in the history`);
        assert.equal(entry.slots[i], slotOf(entry.pageTable, pos), "slot follows the page table");
        assert.ok(entry.slots[i] >= pageSize, "nothing is written to the padding page");
        this.kv[entry.slots[i]] = tokenHistory[pos];
      }
      assert.equal(entry.sample, end === tokens.length, "sample exactly when the range reaches the last token");
      if (!entry.sample) continue;
      const sequence = Array.from({ length: end }, (_, pos) => this.kv[slotOf(entry.pageTable, pos)]);
      assert.deepEqual(sequence, tokens, `KV content of ${entry.requestId}`);
      sampled.push(nextToken(sequence));
    }
    return sampled;
  }
}

export interface Setup {
  readonly scheduler: Scheduler;
  readonly allocator: PageAllocator;
  readonly cache: PrefixCache;
  readonly runner: FakeRunner;
}

export function setup(options: {
  numPages: number;
  pageSize: number;
  maxTokensPerStep?: number;
  maxRunningRequests?: number;
  prefixCache?: boolean;
  newTokenRatio?: NewTokenRatioOptions;
}): Setup {
  const allocator = new PageAllocator({ numPages: options.numPages, pageSize: options.pageSize });
  const cache = options.prefixCache === false ? new NoCache(options.pageSize) : new RadixCache(allocator);
  const { maxTokensPerStep, maxRunningRequests, newTokenRatio } = options;
  const scheduler = new Scheduler({ allocator, prefixCache: cache, maxTokensPerStep, maxRunningRequests, newTokenRatio });
  return { scheduler, allocator, cache, runner: new FakeRunner(allocator) };
}

export interface DriveResult {
  readonly outputs: Map<string, number[]>;
  readonly infos: Map<string, RequestInfo>;
  readonly rejected: string[];
  readonly batches: ScheduledBatch[];
  readonly steps: number;
}

/** Plays the engine: adds jobs when they arrive, runs every batch, finishes requests, checks integrity each step. */
export function drive(s: Setup, jobs: readonly Job[], aborts = new Map<number, string[]>(), maxSteps = 20_000): DriveResult {
  const pending = [...jobs].sort((a, b) => a.arrivalStep - b.arrivalStep);
  const limits = new Map(jobs.map((j) => [j.spec.id, j.outputLimit]));
  const truth = new Map<string, number[]>();
  const result: DriveResult = { outputs: new Map(), infos: new Map(), rejected: [], batches: [], steps: 0 };
  let step = 0;
  for (; pending.length > 0 || s.scheduler.hasWork(); step++) {
    assert.ok(step < maxSteps, "the scheduler stopped making progress");
    while (pending.length > 0 && pending[0].arrivalStep <= step) {
      const { spec } = pending.shift()!;
      try {
        s.scheduler.addRequest(spec);
        truth.set(spec.id, [...spec.promptIds]);
      } catch (err) {
        if (!isIrisError(err, "OUT_OF_MEMORY")) throw err;
        result.rejected.push(spec.id);
      }
    }
    for (const id of aborts.get(step) ?? []) if (s.scheduler.abortRequest(id)) truth.delete(id);
    const batch = s.scheduler.schedule();
    if (batch === null) continue;
    result.batches.push(batch);
    const tokens = s.runner.run(batch, (id) => truth.get(id)!, (id) => s.scheduler.tokenHistory(id));
    for (const { requestId, token, numOutputTokens } of s.scheduler.processBatchResult(batch, tokens)) {
      truth.get(requestId)!.push(token);
      if (numOutputTokens >= Math.max(1, limits.get(requestId)!) || isStopToken(token)) {
        const info = s.scheduler.finishRequest(requestId);
        result.infos.set(requestId, info);
        result.outputs.set(requestId, [...info.outputIds]);
        truth.delete(requestId);
      }
    }
    s.scheduler.checkIntegrity();
  }
  return { ...result, steps: step };
}

/** After everything finished: every page is free or cached, and evicting the cache frees them all. */
export function assertNoLeaks(s: Setup): void {
  assert.equal(s.scheduler.hasWork(), false);
  assert.equal(s.cache.sizeInfo().protectedPages, 0, "no prefix stays locked");
  assert.equal(s.allocator.freeCount + s.cache.sizeInfo().totalPages, s.allocator.capacity);
  s.cache.evict(Number.POSITIVE_INFINITY);
  assert.equal(s.allocator.freeCount, s.allocator.capacity);
}

/** A seeded integer generator for the randomized tests: uniform in [0, n). */
export function prng(seed: number): (n: number) => number {
  const uniform = rng(seed);
  return (n: number) => Math.floor(uniform() * n);
}

export const tokens = (from: number, count: number) => Array.from({ length: count }, (_, i) => (from + i * 7) % VOCAB);
