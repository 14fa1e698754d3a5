/**
 * A memory budget for image decodes in flight. Full-resolution decoding is right (the reference resizes from full
 * resolution), but ten 9000x9000 pictures decoded at once take gigabytes; with a budget, a decode reserves its
 * estimated peak once the header gave its size and the rest wait their turn, first come first served. One image
 * larger than the whole budget still goes ahead when nothing else is decoding (the pixel limit bounds it).
 */
import { IrisError } from "../core/errors.js";

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

export class DecodeBudget {
  private used = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly capacityBytes: number) {
    if (!(capacityBytes > 0)) throw new IrisError("INVALID_ARGUMENT", `the decode memory budget must be positive, got ${capacityBytes}`);
  }

  /** Bytes reserved now, for tests and metrics. */
  get reservedBytes(): number {
    return this.used;
  }

  /** A lease for one image: its reservations wait their turn; `release` returns them, and drops any still waiting. */
  lease(): DecodeLease {
    return new DecodeLease(this);
  }

  /** @internal Resolves once `bytes` fit; the returned function withdraws a request that was not granted yet. */
  request(bytes: number, onGrant: () => void): () => void {
    const waiter = { bytes, grant: onGrant };
    this.queue.push(waiter);
    this.pump();
    return () => {
      const at = this.queue.indexOf(waiter);
      if (at >= 0) this.queue.splice(at, 1);
      this.pump();
    };
  }

  /** @internal */
  free(bytes: number): void {
    this.used -= bytes;
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (this.used > 0 && this.used + head.bytes > this.capacityBytes) return;
      this.queue.shift();
      this.used += head.bytes;
      head.grant();
    }
  }
}

export class DecodeLease {
  private granted = 0;
  private withdraw: (() => void) | undefined;
  private released = false;

  constructor(private readonly budget: DecodeBudget) {}

  /** Resolves when `bytes` more are reserved for this image; rejects with the signal's reason on abort. */
  reserve(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.released) return Promise.reject(new IrisError("INTERNAL", "internal error: a decode lease was used after release"));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.withdraw?.();
        this.withdraw = undefined;
        reject(signal!.reason as Error);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.withdraw = this.budget.request(bytes, () => {
        this.withdraw = undefined;
        signal?.removeEventListener("abort", onAbort);
        if (this.released) {
          this.budget.free(bytes);
          return;
        }
        this.granted += bytes;
        resolve();
      });
    });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.withdraw?.();
    this.withdraw = undefined;
    if (this.granted > 0) this.budget.free(this.granted);
    this.granted = 0;
  }
}
