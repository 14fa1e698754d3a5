import type { CacheManager } from "./cache-manager.js";
import type { NewTokenRatio } from "./new-token-ratio.js";
import type { RequestState } from "./request-state.js";
import type { RunningSet, WaitingQueue } from "./request-queues.js";

/** What the planners of one step read and act on; the `Scheduler` provides it. */
export interface SchedulingContext {
  readonly running: RunningSet;
  readonly waiting: WaitingQueue;
  readonly memory: CacheManager;
  readonly ratio: NewTokenRatio;
  readonly maxRunningRequests: number;
  /** Frees the request's pages and puts it back at the head of the waiting queue, to be recomputed later. */
  retract(req: RequestState): void;
  /** Moves the head of the waiting queue (already matched and grown) into the running set. */
  admit(req: RequestState): void;
}
