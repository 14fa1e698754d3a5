import type { BatchBuilder } from "./batch-builder.js";
import type { RequestState } from "./request-state.js";
import type { SchedulingContext } from "./scheduling-context.js";

/**
 * Admits waiting requests first come first served while the step has prefill budget, the running set has room
 * and memory allows. Each candidate first takes its cached prefix, then must pass the reservation check: pages
 * for the rest of its prompt plus the new-token-ratio share of its output, on top of what running requests are
 * expected to still need, must fit in the free and evictable pages. The first candidate that does not fit stops
 * admission (FCFS: no overtaking for memory, so a long prompt is not starved by short ones).
 *
 * In-batch prefix sharing (as SGLang's in-batch prefix caching): a candidate that shares at least one more whole
 * page with a request admitted in this same step than the cache holds waits one step, so it finds those pages
 * cached instead of computing them again (several questions about one picture share the picture's tokens). It is
 * the only overtaking allowed, and it cannot starve: the waiter's prefix is cached by the next step.
 */
export function admitWaiting(ctx: SchedulingContext, batch: BatchBuilder): void {
  const admittedNow: RequestState[] = [];
  // What running requests are expected to still allocate; admissions below add to it as they join.
  let reserved = reservedForRunning(ctx);
  for (const req of [...ctx.waiting.toArray()]) {
    if (batch.prefillBudgetLeft <= 0 || ctx.running.size >= ctx.maxRunningRequests) return;
    ctx.memory.matchAndLock(req);
    if (ctx.memory.prefixCache.sharesPrefixes && sharesMoreThanCached(req, admittedNow, ctx.memory.pageSize)) {
      ctx.memory.release(req);
      continue;
    }
    const needed = expectedMissingPages(ctx, req);
    const count = Math.min(req.pendingTokens, batch.prefillBudgetLeft);
    if (needed + reserved > ctx.memory.availablePages() || ctx.memory.tokensThatFit(req, count) < count) {
      ctx.memory.release(req);
      return;
    }
    ctx.memory.grow(req, req.kvLength + count);
    ctx.admit(req);
    reserved += expectedMissingPages(ctx, req);
    admittedNow.push(req);
    batch.add(req, count, false);
  }
}

/** Whether `req` shares a whole page beyond its cached prefix with a request admitted in this step. */
function sharesMoreThanCached(req: RequestState, admittedNow: readonly RequestState[], pageSize: number): boolean {
  const needed = req.kvLength + pageSize;
  // Only whole pages of the prompt minus its last token can ever be matched (see CacheManager.matchAndLock).
  if (needed > Math.min(req.tokenIds.length - 1, req.maxCachedTokens)) return false;
  return admittedNow.some((other) => commonPrefix(req.tokenIds, other.tokenIds, needed) >= needed);
}

function commonPrefix(a: readonly number[], b: readonly number[], limit: number): number {
  const n = Math.min(a.length, b.length, limit);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Pages `req` is still expected to allocate, by the current new-token ratio. */
function expectedMissingPages(ctx: SchedulingContext, req: RequestState): number {
  const expected = ctx.ratio.expectedTokens(req.tokenIds.length, req.remainingNewTokens);
  return req.table.missingPagesFor(expected);
}

function reservedForRunning(ctx: SchedulingContext): number {
  let pages = 0;
  for (const req of ctx.running.oldestFirst()) pages += expectedMissingPages(ctx, req);
  return pages;
}
