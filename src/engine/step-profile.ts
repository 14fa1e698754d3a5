/**
 * The engine's step profile, for finding where a step's time goes: per step, the host's time scheduling, preparing
 * and launching it, waiting for its tokens and handing them out, and the device's span, idle gap before it and the
 * vision encodes of its prepare inside that gap (`StepClock`). Turned on by `IRIS_STEP_PROFILE=<file>`: the engine core writes the summary there at shutdown
 * (bench/decode-step.ts reads it). Steps are grouped by shape: decode steps by batch size, others by token count.
 */
import { writeFileSync } from "node:fs";
import type { StepTiming } from "../runner/step-clock.js";

export interface StepSample {
  readonly sequences: number;
  readonly tokens: number;
  /** Scheduling, the runner's prepare and launch (kernels enqueued). */
  readonly launchMs: number;
  /** Waiting for the step's tokens (the loop's one wait). */
  readonly waitMs: number;
  /** The tokens to their requests: detokenizing, stop checks, messages to the caller. */
  readonly handOutMs: number;
  /** From the start of this loop turn to the next's. */
  readonly turnMs: number;
  readonly timing?: StepTiming;
}

interface GroupSummary {
  readonly kind: string;
  readonly steps: number;
  /** Medians of the samples' fields, in ms. */
  readonly medianMs: Record<string, number | null>;
}

export class StepProfile {
  private readonly samples: StepSample[] = [];

  constructor(readonly path: string) {}

  static fromEnvironment(): StepProfile | null {
    const path = process.env.IRIS_STEP_PROFILE;
    return path ? new StepProfile(path) : null;
  }

  add(sample: StepSample): void {
    this.samples.push(sample);
  }

  summary(): GroupSummary[] {
    const groups = new Map<string, StepSample[]>();
    for (const s of this.samples) {
      const kind = isDecode(s) ? `decode b${s.sequences}${s.timing?.graphBucket != null ? ` graph${s.timing.graphBucket}` : ""}` : `mixed t${s.tokens}`;
      const group = groups.get(kind);
      if (group === undefined) groups.set(kind, [s]);
      else group.push(s);
    }
    return [...groups].map(([kind, samples]) => ({
      kind,
      steps: samples.length,
      medianMs: {
        launch: median(samples.map((s) => s.launchMs)),
        wait: median(samples.map((s) => s.waitMs)),
        handOut: median(samples.map((s) => s.handOutMs)),
        turn: median(samples.map((s) => s.turnMs)),
        deviceSpan: median(samples.flatMap((s) => (s.timing ? [s.timing.spanMs] : []))),
        deviceIdleBefore: median(samples.flatMap((s) => (s.timing?.idleBeforeMs != null ? [s.timing.idleBeforeMs] : []))),
        deviceGraph: median(samples.flatMap((s) => (s.timing?.graphMs != null ? [s.timing.graphMs] : []))),
        deviceVision: median(samples.flatMap((s) => (s.timing?.visionMs != null ? [s.timing.visionMs] : []))),
      },
    }));
  }

  /** Sums over all steps of a broad kind (decode-only steps, and steps with prompt tokens): where a run's time went. */
  totals(): Record<string, Record<string, number>> {
    const totals: Record<string, Record<string, number>> = {};
    for (const s of this.samples) {
      const t = (totals[isDecode(s) ? "decode" : "withPromptTokens"] ??= {
        steps: 0, tokens: 0, launchMs: 0, waitMs: 0, handOutMs: 0, turnMs: 0, deviceSpanMs: 0, deviceIdleBeforeMs: 0,
        deviceVisionMs: 0,
      });
      t.steps++;
      t.tokens += s.tokens;
      t.launchMs += s.launchMs;
      t.waitMs += s.waitMs;
      t.handOutMs += s.handOutMs;
      t.turnMs += s.turnMs;
      t.deviceSpanMs += s.timing?.spanMs ?? 0;
      t.deviceIdleBeforeMs += s.timing?.idleBeforeMs ?? 0;
      t.deviceVisionMs += s.timing?.visionMs ?? 0;
    }
    return totals;
  }

  write(): void {
    writeFileSync(this.path, JSON.stringify({ groups: this.summary(), totals: this.totals() }, null, 2));
  }
}

/** A step of one token per sequence: decode alone, no prompt tokens. */
function isDecode(s: StepSample): boolean {
  return s.tokens === s.sequences;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
