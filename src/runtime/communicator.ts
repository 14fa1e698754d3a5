/**
 * The collectives of tensor parallelism: the ranks of one group (one per device, each on its own thread) run the
 * same program and call the same collectives in the same order (SPMD), each on its own tensors.
 *
 * Contract for every collective:
 * - It is enqueued like a kernel: on cpu it runs before returning, on cuda it runs in stream order on the rank's
 *   device (NCCL), so a collective inside a captured CUDA graph replays with it.
 * - Every rank passes tensors of the same shape and dtype; the result is the same on every rank, bit for bit
 *   (reductions add in rank order on cpu; NCCL's ring gives every rank the same bits too).
 * - It never waits forever: a rank that fails calls `abort`, which makes every rank's pending and later
 *   collectives throw RANK_FAILED; a rank that stops answering (a crashed thread, a hang) is caught by the
 *   group's timeout (on cpu inside the collective, on cuda when the host waits on the stream: see `watch`).
 */
import { IrisError } from "../core/errors.js";
import type { Tensor } from "./tensor.js";

export interface Communicator {
  /** This rank, in [0, size). */
  readonly rank: number;
  readonly size: number;
  /** In place: x = the sum of x over all ranks (float dtypes). */
  allReduceSum(x: Tensor): void;
  /** out [size * N, ...] = every rank's x [N, ...] stacked along the leading dim in rank order. */
  allGather(out: Tensor, x: Tensor): void;
  /** In place: x = `root`'s x, on every rank. */
  broadcast(x: Tensor, root: number): void;
  /**
   * Resolves once every rank reached it (and the collectives before it ran); RANK_FAILED past the group's timeout,
   * or past `timeoutMs` where the ranks may legitimately take longer (loading their shards of the weights).
   */
  barrier(timeoutMs?: number): Promise<void>;
  /**
   * Waits for `work` (a readback of the rank's stream) under the group's timeout: a collective stuck on a dead peer
   * aborts the group instead of hanging. On cpu, where collectives run synchronously, this only forwards `work`.
   */
  watch<T>(work: Promise<T>): Promise<T>;
  /** Marks the group failed with `reason`: every rank's pending and later collectives throw RANK_FAILED. */
  abort(reason: string): void;
  /** Gives back the communicator's resources; it must not be used afterwards. */
  destroy(): void;
}

/**
 * What a thread needs to join a group: made once by `createGroup` on the thread that starts the ranks, then passed
 * to each rank (structured clone: it holds shared memory or NCCL's unique id, nothing else).
 */
export type GroupHandle =
  | { readonly kind: "cpu"; readonly size: number; readonly timeoutMs: number; readonly shared: SharedArrayBuffer }
  /** cuda ranks live in separate processes (the addon drives one device per process): no shared memory, NCCL only. */
  | { readonly kind: "cuda"; readonly size: number; readonly timeoutMs: number; readonly ncclId: Uint8Array };

/** Default time a rank waits for its peers in one collective before the group is declared failed. */
export const DEFAULT_COLLECTIVE_TIMEOUT_MS = 120_000;
/** How long the ranks wait for each other to load their shards (a large checkpoint on a shared disk takes minutes). */
export const LOAD_BARRIER_TIMEOUT_MS = 30 * 60_000;

/** The group of one: every collective is the identity (all-gather copies), so a model is written once for any size. */
export class SoloCommunicator implements Communicator {
  readonly rank = 0;
  readonly size = 1;
  allReduceSum(): void {}
  allGather(out: Tensor, x: Tensor): void {
    out.device.backend.copy(out, x);
  }
  broadcast(): void {}
  barrier(): Promise<void> {
    return Promise.resolve();
  }
  watch<T>(work: Promise<T>): Promise<T> {
    return work;
  }
  abort(): void {}
  destroy(): void {}
}

/**
 * A rank's place in a group without the group: what a memory plan or a weight census needs (which shard a rank
 * keeps) before any rank runs. Its collectives are never called; calling one is a bug.
 */
export class ShapeOnlyCommunicator implements Communicator {
  constructor(readonly rank: number, readonly size: number) {}
  allReduceSum(): void {
    this.unusable();
  }
  allGather(): void {
    this.unusable();
  }
  broadcast(): void {
    this.unusable();
  }
  barrier(): Promise<void> {
    return Promise.reject(new IrisError("INTERNAL", "internal error: a shape-only communicator cannot communicate"));
  }
  watch<T>(work: Promise<T>): Promise<T> {
    return work;
  }
  abort(): void {}
  destroy(): void {}
  private unusable(): never {
    throw new IrisError("INTERNAL", "internal error: a shape-only communicator cannot communicate");
  }
}
