/**
 * Timing marks on the host's clock, for a backend whose kernels run while they are called (the cpu): a mark is the
 * moment it is recorded, so the time between two marks is the time of the work enqueued between them.
 */
import { IrisError } from "../core/errors.js";
import type { TimingMarks } from "./backend.js";

export class HostClockMarks implements TimingMarks {
  private readonly marks = new Map<number, number>();
  private nextId = 1;

  record(): number {
    const id = this.nextId++;
    this.marks.set(id, performance.now());
    return id;
  }

  elapsedMs(from: number, to: number): number {
    const a = this.marks.get(from), b = this.marks.get(to);
    if (a === undefined || b === undefined) throw new IrisError("INTERNAL", `internal error: no timing mark ${a === undefined ? from : to}`);
    return b - a;
  }

  release(mark: number): void {
    this.marks.delete(mark);
  }
}
