/**
 * The state a group's ranks share in one SharedArrayBuffer: whether the group failed (and why, for the error every
 * rank reports), and a barrier built on Atomics. Waiting blocks the calling thread (Atomics.wait), which is what
 * a rank's worker thread does in a collective; every wait has a deadline, so a rank that never arrives fails the
 * group with RANK_FAILED instead of hanging it. The rest of the buffer, past `DATA_OFFSET`, is the cpu
 * communicator's exchange area.
 */
import { IrisError } from "../core/errors.js";

const ABORTED = 0;
const ARRIVED = 1;
const GENERATION = 2;
const REASON_LENGTH = 3;
const CONTROL_INTS = 4;
const REASON_BYTES = 2048;
/** Where a communicator's data area starts (a multiple of 16 bytes, so any typed array can view it). */
export const DATA_OFFSET = CONTROL_INTS * 4 + REASON_BYTES;

export function sharedGroupBuffer(dataBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(DATA_OFFSET + dataBytes);
}

export class GroupState {
  private readonly control: Int32Array;
  private readonly reason: Uint8Array;

  constructor(shared: SharedArrayBuffer, private readonly size: number, private readonly timeoutMs: number, private readonly rank: number) {
    this.control = new Int32Array(shared, 0, CONTROL_INTS);
    this.reason = new Uint8Array(shared, CONTROL_INTS * 4, REASON_BYTES);
  }

  get aborted(): boolean {
    return Atomics.load(this.control, ABORTED) !== 0;
  }

  /** The first abort's reason wins; later ones only wake waiters again. */
  abort(reason: string): void {
    if (Atomics.compareExchange(this.control, ABORTED, 0, 1) === 0) {
      const bytes = new TextEncoder().encode(reason).subarray(0, REASON_BYTES);
      this.reason.set(bytes);
      Atomics.store(this.control, REASON_LENGTH, bytes.length);
      Atomics.store(this.control, ABORTED, 2);
    }
    Atomics.notify(this.control, GENERATION);
  }

  /** RANK_FAILED with the abort's reason, if the group was aborted. */
  check(): void {
    if (!this.aborted) return;
    // The reason is written between the two stores of `abort`; wait the few instructions it takes.
    while (Atomics.load(this.control, ABORTED) === 1) Atomics.wait(this.control, ABORTED, 1, 1);
    const length = Atomics.load(this.control, REASON_LENGTH);
    const reason = new TextDecoder().decode(this.reason.slice(0, length));
    throw new IrisError("RANK_FAILED", `tensor parallelism: ${reason}; the engine is down, create it again`);
  }

  /**
   * Blocks until every rank arrived (a generation-counting barrier: the last to arrive resets the count and bumps
   * the generation, which releases the others). Past the timeout the group is aborted and RANK_FAILED thrown.
   */
  arrive(what: string, timeoutMs = this.timeoutMs): void {
    this.check();
    const generation = Atomics.load(this.control, GENERATION);
    if (Atomics.add(this.control, ARRIVED, 1) + 1 === this.size) {
      Atomics.store(this.control, ARRIVED, 0);
      Atomics.add(this.control, GENERATION, 1);
      Atomics.notify(this.control, GENERATION);
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.control, GENERATION) === generation) {
      this.check();
      const left = deadline - Date.now();
      if (left <= 0) {
        this.abort(`rank ${this.rank} waited ${timeoutMs} ms in ${what} for a rank that never arrived`);
        this.check();
      }
      Atomics.wait(this.control, GENERATION, generation, left);
    }
    this.check();
  }
}
