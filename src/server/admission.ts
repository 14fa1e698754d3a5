/**
 * The server's bounded queue. The engine takes every request it is given and queues what it cannot run yet; a server
 * must say no instead once the backlog is long, so a client retries elsewhere rather than waiting without end.
 * Requests are counted here in engine requests (a request with `n` samples counts n): up to `maxRunning` run, up
 * to `maxQueued` more wait, and one past that is answered 503 with `Retry-After`. While the server drains (SIGTERM)
 * every new request is answered 503.
 */
import { HttpError } from "./http-errors.js";

/** Seconds a refused client is asked to wait before trying again. */
const RETRY_AFTER_SECONDS = 1;

export class Admission {
  private inFlight = 0;
  private draining = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly maxRunning: number, private readonly maxQueued: number) {}

  /** Takes `weight` places or throws the 503; the returned function gives them back (once). */
  admit(weight: number): () => void {
    if (this.draining) throw new HttpError(503, "the server is shutting down", "SHUTTING_DOWN", null, { "retry-after": String(RETRY_AFTER_SECONDS) });
    // One request larger than the whole bound is still admitted into an empty server, or it could never run.
    if (this.inFlight > 0 && this.inFlight + weight > this.maxRunning + this.maxQueued) {
      throw new HttpError(503, `the server's queue is full (${this.maxQueued} requests waiting beyond the ${this.maxRunning} running); retry later`,
        "QUEUE_FULL", null, { "retry-after": String(RETRY_AFTER_SECONDS) });
    }
    this.inFlight += weight;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= weight;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
  }

  /** Engine requests admitted and not yet finished. */
  get size(): number {
    return this.inFlight;
  }

  /** Those of them beyond what the engine runs at once: the server's view of its queue. */
  get waiting(): number {
    return Math.max(0, this.inFlight - this.maxRunning);
  }

  /** Refuses new requests from now on; resolves once every admitted one has finished. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
