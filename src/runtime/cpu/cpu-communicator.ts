/**
 * The cpu backend's communicator: the ranks are worker threads of one process and exchange data through one
 * SharedArrayBuffer, each rank owning a slot of it. A collective goes in rounds of at most one slot per rank:
 * every rank writes its part, a barrier, every rank reads what it needs, a barrier (so no slot is overwritten while
 * a peer still reads it). Reductions add the ranks' parts in rank order in float32, so every rank gets the same
 * bits. This is what CI tests the sharding with; NCCL does the same on GPUs.
 */
import { IrisError } from "../../core/errors.js";
import type { Communicator } from "../communicator.js";
import { DATA_OFFSET, GroupState, sharedGroupBuffer } from "../group-state.js";
import type { Tensor } from "../tensor.js";
import { elements, f32 } from "./storage.js";

/** Bytes each rank exchanges per round: large collectives (an all-gather of logits) take several rounds. */
const SLOT_BYTES = 4 << 20;

export function cpuGroupBuffer(size: number): SharedArrayBuffer {
  return sharedGroupBuffer(size * SLOT_BYTES);
}

export class CpuCommunicator implements Communicator {
  private readonly state: GroupState;
  private readonly shared: SharedArrayBuffer;

  constructor(shared: SharedArrayBuffer, readonly rank: number, readonly size: number, timeoutMs: number) {
    if (!(rank >= 0 && rank < size)) throw new IrisError("INVALID_ARGUMENT", `rank ${rank} is outside a group of ${size}`);
    this.shared = shared;
    this.state = new GroupState(shared, size, timeoutMs, rank);
  }

  allReduceSum(x: Tensor): void {
    if (x.dtype !== "F32") throw new IrisError("INTERNAL", `internal error: the cpu all-reduce sums F32 tensors, got ${x.dtype}`);
    const data = f32(x);
    this.rounds(data.length, 4, "allReduceSum", (start, count) => {
      this.slot(this.rank, Float32Array, count).set(data.subarray(start, start + count));
      this.state.arrive("allReduceSum");
      // Rank order, stored to float32 after each add: the same bits on every rank.
      const out = data.subarray(start, start + count);
      out.set(this.slot(0, Float32Array, count));
      for (let r = 1; r < this.size; r++) {
        const part = this.slot(r, Float32Array, count);
        for (let i = 0; i < count; i++) out[i] += part[i];
      }
    });
  }

  allGather(out: Tensor, x: Tensor): void {
    const mine = bytesOf(x), all = bytesOf(out);
    if (all.length !== mine.length * this.size || out.dtype !== x.dtype) {
      throw new IrisError("INTERNAL", `internal error: allGather of ${x} into ${out} over ${this.size} ranks`);
    }
    this.rounds(mine.length, 1, "allGather", (start, count) => {
      this.slot(this.rank, Uint8Array, count).set(mine.subarray(start, start + count));
      this.state.arrive("allGather");
      for (let r = 0; r < this.size; r++) all.set(this.slot(r, Uint8Array, count), r * mine.length + start);
    });
  }

  broadcast(x: Tensor, root: number): void {
    const data = bytesOf(x);
    this.rounds(data.length, 1, "broadcast", (start, count) => {
      if (this.rank === root) this.slot(root, Uint8Array, count).set(data.subarray(start, start + count));
      this.state.arrive("broadcast");
      if (this.rank !== root) data.set(this.slot(root, Uint8Array, count), start);
    });
  }

  barrier(timeoutMs?: number): Promise<void> {
    try {
      this.state.arrive("barrier", timeoutMs);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  watch<T>(work: Promise<T>): Promise<T> {
    return work;
  }

  abort(reason: string): void {
    this.state.abort(reason);
  }

  destroy(): void {}

  /** Runs `round` over pieces of at most one slot, each followed by the barrier that frees the slots again. */
  private rounds(length: number, elementBytes: number, what: string, round: (start: number, count: number) => void): void {
    const perRound = Math.floor(SLOT_BYTES / elementBytes);
    for (let start = 0; start < length || start === 0; start += perRound) {
      round(start, Math.min(perRound, length - start));
      this.state.arrive(what);
      if (length === 0) break;
    }
  }

  private slot(rank: number, ArrayType: typeof Float32Array, count: number): Float32Array;
  private slot(rank: number, ArrayType: typeof Uint8Array, count: number): Uint8Array;
  private slot(rank: number, ArrayType: typeof Float32Array | typeof Uint8Array, count: number): Float32Array | Uint8Array {
    return new ArrayType(this.shared as unknown as ArrayBuffer, DATA_OFFSET + rank * SLOT_BYTES, count);
  }
}

/** A tensor's elements as bytes (collectives that only move data do not care about the dtype). */
function bytesOf(t: Tensor): Uint8Array {
  const data = elements(t);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
