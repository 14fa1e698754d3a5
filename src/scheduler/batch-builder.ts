import { invariant } from "../core/errors.js";
import type { RequestState } from "./request-state.js";
import type { BatchEntry, ScheduledBatch } from "./types.js";

/**
 * Assembles one step's batch under the token budget. Decode tokens are set aside first (one per decoding
 * request, never starved); prefill chunks share what is left.
 */
export class BatchBuilder {
  private readonly entries: BatchEntry[] = [];
  private prefillBudget: number;
  private totalTokens = 0;

  constructor(maxTokensPerStep: number, numDecodes: number) {
    this.prefillBudget = Math.max(0, maxTokensPerStep - numDecodes);
  }

  /** Tokens prefill chunks may still take this step. */
  get prefillBudgetLeft(): number {
    return this.prefillBudget;
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Adds `count` tokens of `req` starting at its KV length; its pages must already cover them. */
  add(req: RequestState, count: number, isDecode: boolean): void {
    const start = req.kvLength;
    const end = start + count;
    invariant(count > 0 && end <= req.tokenIds.length, `bad range ${start}..${end} for request ${req.id}`);
    if (!isDecode) {
      invariant(count <= this.prefillBudget, "prefill chunk over the step's token budget");
      this.prefillBudget -= count;
    }
    this.totalTokens += count;
    this.entries.push({
      requestId: req.id,
      startPosition: start,
      numTokens: count,
      slots: req.table.slotsFor(start, count),
      pageTable: req.table.pages,
      sample: end === req.tokenIds.length,
      isPrefill: start < req.prefillEnd,
      cachedTokens: req.cachedTokens,
    });
  }

  build(id: number): ScheduledBatch {
    const numSampled = this.entries.filter((entry) => entry.sample).length;
    return { id, entries: this.entries, numTokens: this.totalTokens, numSampled };
  }
}
