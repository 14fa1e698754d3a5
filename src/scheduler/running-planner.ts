import { invariant } from "../core/errors.js";
import type { BatchBuilder } from "./batch-builder.js";
import type { RequestState } from "./request-state.js";
import type { SchedulingContext } from "./scheduling-context.js";

/**
 * Plans the step's work for requests already running, oldest first: one token for each decoding request and a
 * chunk for each unfinished prefill, as far as the budget allows. When memory runs out even after evicting the
 * prefix cache, the most recently admitted request is retracted, again and again until the current one fits
 * (or is itself the one retracted). The oldest request therefore always progresses, which is what rules out a
 * deadlock: a request that fits the pool alone (checked on arrival) fits once everything newer is gone.
 */
export function planRunning(ctx: SchedulingContext, batch: BatchBuilder): void {
  for (const req of ctx.running.oldestFirst()) {
    if (!ctx.running.has(req)) continue; // retracted earlier in this pass
    const isDecode = req.pendingTokens === 1;
    if (isDecode && reachedLimit(req)) continue;
    const wanted = isDecode ? 1 : Math.min(req.pendingTokens, batch.prefillBudgetLeft);
    if (wanted === 0) continue;
    const granted = fitOrRetract(ctx, req, wanted);
    if (granted > 0) batch.add(req, granted, isDecode);
  }
}

/** Number of requests that will take a single token this step (their tokens are set aside from the budget). */
export function countDecodes(ctx: SchedulingContext): number {
  return ctx.running.oldestFirst().filter((req) => req.pendingTokens === 1 && !reachedLimit(req)).length;
}

function fitOrRetract(ctx: SchedulingContext, req: RequestState, wanted: number): number {
  for (;;) {
    // A prefill chunk shrinks to the memory there is; only when not even one token fits does anyone leave.
    const fitting = ctx.memory.tokensThatFit(req, wanted);
    if (fitting > 0) {
      ctx.memory.grow(req, req.kvLength + fitting);
      return fitting;
    }
    const victim = ctx.running.newest();
    invariant(victim !== undefined, "running set emptied while a request still runs");
    ctx.retract(victim);
    if (victim === req) return 0;
  }
}

/**
 * A request whose outputs (placeholders of steps in flight included) reached maxNewTokens is not decoded again: the
 * engine retires it once its last token is read back. The fit check on arrival assumed no more than that.
 */
function reachedLimit(req: RequestState): boolean {
  return req.numOutputTokens >= Math.max(1, req.maxNewTokens);
}
