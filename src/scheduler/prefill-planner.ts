import type { BatchBuilder } from "./batch-builder.js";
import type { RequestState } from "./request-state.js";
import type { SchedulingContext } from "./scheduling-context.js";

/**
 * Admits waiting requests first come first served while the step has prefill budget, the running set has room
 * and memory allows. Each candidate first takes its cached prefix, then must pass the reservation check: pages
 * for the rest of its prompt plus the new-token-ratio share of its output, on top of what running requests are
 * expected to still need, must fit in the free and evictable pages. The first candidate that does not fit stops
 * admission (strict FCFS: no overtaking, so a long prompt is not starved by short ones).
 */
export function admitWaiting(ctx: SchedulingContext, batch: BatchBuilder): void {
  while (batch.prefillBudgetLeft > 0 && ctx.running.size < ctx.maxRunningRequests) {
    const req = ctx.waiting.peek();
    if (req === undefined) return;
    ctx.memory.matchAndLock(req);
    const needed = expectedMissingPages(ctx, req);
    const count = Math.min(req.pendingTokens, batch.prefillBudgetLeft);
    if (needed + reservedForRunning(ctx) > ctx.memory.availablePages() || ctx.memory.tokensThatFit(req, count) < count) {
      ctx.memory.release(req);
      return;
    }
    ctx.memory.grow(req, req.kvLength + count);
    ctx.admit(req);
    batch.add(req, count, false);
  }
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
