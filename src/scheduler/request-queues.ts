import type { RequestState } from "./request-state.js";

/** Requests waiting for admission, first come first served; retracted requests go back to the front. */
export class WaitingQueue {
  private readonly queue: RequestState[] = [];

  get size(): number {
    return this.queue.length;
  }

  pushBack(req: RequestState): void {
    this.queue.push(req);
  }

  pushFront(req: RequestState): void {
    this.queue.unshift(req);
  }

  toArray(): readonly RequestState[] {
    return this.queue;
  }

  remove(req: RequestState): boolean {
    const index = this.queue.indexOf(req);
    if (index >= 0) this.queue.splice(index, 1);
    return index >= 0;
  }
}

/** Admitted requests in admission order: the oldest get memory first, the newest are retracted first. */
export class RunningSet {
  private readonly requests: RequestState[] = [];
  private readonly members = new Set<RequestState>();

  get size(): number {
    return this.requests.length;
  }

  add(req: RequestState): void {
    this.requests.push(req);
    this.members.add(req);
  }

  has(req: RequestState): boolean {
    return this.members.has(req);
  }

  remove(req: RequestState): boolean {
    if (!this.members.delete(req)) return false;
    this.requests.splice(this.requests.indexOf(req), 1);
    return true;
  }

  newest(): RequestState | undefined {
    return this.requests[this.requests.length - 1];
  }

  /** A snapshot, oldest first, safe to iterate while requests are retracted. */
  oldestFirst(): RequestState[] {
    return [...this.requests];
  }
}
