/**
 * Turns the engine's step profile on for a benchmark (`IRIS_STEP_PROFILE`, src/engine/step-profile.ts) and reads it
 * back after `engine.shutdown()`. Call before `Engine.create`: the engine core's thread takes the environment it
 * starts with.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StepProfileFile {
  readonly groups: { readonly kind: string; readonly steps: number; readonly medianMs: Record<string, number | null> }[];
  readonly totals: Record<string, Record<string, number>>;
}

export function enableStepProfile(): () => StepProfileFile {
  const path = join(mkdtempSync(join(tmpdir(), "iris-steps-")), "steps.json");
  process.env.IRIS_STEP_PROFILE = path;
  return () => JSON.parse(readFileSync(path, "utf8")) as StepProfileFile;
}
