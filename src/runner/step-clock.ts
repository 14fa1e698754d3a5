/**
 * The device's time on each step, from timing marks recorded around the step's kernels: the step's span (its first
 * kernel's start to its last's end, with any wait for the host's launches inside it) and the gap before it (the
 * device idle between the previous step's end and this one's start, waiting for the host). Host clocks cannot tell
 * these apart once the host enqueues ahead of the device. For the engine's step profile only: two marks a step, two
 * more around a graph replay, two around the vision encodes of its prepare.
 */
import type { TimingMarks } from "../runtime/backend.js";

export interface StepMarks {
  readonly previousEnd: number | null;
  readonly start: number;
  readonly end: number;
  /** Marks around the step's graph replay, when it replayed one. */
  readonly graph: readonly [number, number] | null;
  /** Marks around the vision encodes of the step's prepare, when it encoded images. */
  readonly vision: readonly [number, number] | null;
}

export interface DeviceStepTime {
  /** From the step's first kernel to its last. */
  readonly spanMs: number;
  /** Device idle before the step: since the previous step's last kernel (null for the first step). */
  readonly idleBeforeMs: number | null;
  /** The graph replay's part of the span (null: no replay); the rest is the eager kernels around it. */
  readonly graphMs: number | null;
  /**
   * The vision tower's work for the step's images (null: none), enqueued by its prepare before the step's kernels:
   * part of the gap before the step, not of its span.
   */
  readonly visionMs: number | null;
}

/** A step's device time, as the runner reports it. */
export interface StepTiming extends DeviceStepTime {
  /** The decode graph's batch size, when the step replayed (or captured) one. */
  readonly graphBucket: number | null;
}

export class StepClock {
  /** The end mark of the latest step, kept until the next step's time is read. */
  private lastEnd: number | null = null;
  /** The marks around the graph replay of the step being bracketed. */
  private graph: [number, number] | null = null;

  constructor(private readonly marks: TimingMarks) {}

  /** Runs `enqueue` (other work of a step: its vision encodes) between two marks of its own. */
  span<T>(enqueue: () => T): { result: T; marks: readonly [number, number] } {
    const start = this.marks.record();
    let result: T;
    try {
      result = enqueue();
    } catch (err) {
      this.marks.release(start);
      throw err;
    }
    return { result, marks: [start, this.marks.record()] };
  }

  /** Gives back marks that will not be read (a step that never launched). */
  discard(marks: readonly number[] | null): void {
    for (const mark of marks ?? []) this.marks.release(mark);
  }

  /**
   * Runs `enqueue` (a step's launches) between two marks, with the marks of its vision encodes if it had any; a
   * step that throws is not timed.
   */
  bracket(enqueue: () => void, vision: readonly [number, number] | null = null): StepMarks {
    const start = this.marks.record();
    try {
      enqueue();
    } catch (err) {
      for (const mark of [start, ...(this.graph ?? []), ...(vision ?? [])]) this.marks.release(mark);
      this.graph = null;
      throw err;
    }
    const marks = { previousEnd: this.lastEnd, start, end: this.marks.record(), graph: this.graph, vision };
    this.graph = null;
    this.lastEnd = marks.end;
    return marks;
  }

  /** Runs `replay` (the graph replay inside a bracketed step) between two marks of its own. */
  replay<T>(replay: () => T): T {
    const start = this.marks.record();
    const result = replay();
    this.graph = [start, this.marks.record()];
    return result;
  }

  /**
   * The step's device time; call after its work was waited for, steps in launch order. Gives back every mark but
   * the step's end, which the next step's gap is measured from.
   */
  read(step: StepMarks): DeviceStepTime {
    const spanMs = this.marks.elapsedMs(step.start, step.end);
    const idleBeforeMs = step.previousEnd === null ? null : this.marks.elapsedMs(step.previousEnd, step.start);
    const graphMs = step.graph === null ? null : this.marks.elapsedMs(...step.graph);
    const visionMs = step.vision === null ? null : this.marks.elapsedMs(...step.vision);
    for (const mark of [step.previousEnd ?? [], step.start, ...(step.graph ?? []), ...(step.vision ?? [])].flat()) this.marks.release(mark);
    return { spanMs, idleBeforeMs, graphMs, visionMs };
  }
}
