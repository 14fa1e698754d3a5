/**
 * The step clock tells a step's device span from the device's idle gap before it, and gives its marks back; the
 * engine's step profile reports both for a real run on the cpu backend (whose marks are the host's clock).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { TimingMarks } from "../../../src/runtime/backend.js";
import { StepClock } from "../../../src/runner/step-clock.js";
import { Engine } from "../../../src/engine/engine.js";
import { DEMO_MODEL } from "../../helpers/step-checks.js";

/** Marks whose times are scripted: the n-th mark recorded is at `times[n]` ms. */
function scriptedMarks(times: number[]): TimingMarks & { live: Set<number> } {
  const at = new Map<number, number>();
  const live = new Set<number>();
  let next = 0;
  return {
    live,
    record: () => {
      const id = next++;
      at.set(id, times[id]);
      live.add(id);
      return id;
    },
    elapsedMs: (from, to) => {
      assert.ok(live.has(from) && live.has(to), `marks ${from} and ${to} are still held when read`);
      return at.get(to)! - at.get(from)!;
    },
    release: (mark) => assert.ok(live.delete(mark), `mark ${mark} released once`),
  };
}

test("a step's span and the idle gap before it come from its marks and the previous step's end", () => {
  // Step 1 runs 0-3 ms; step 2 starts at 3.5 (0.5 ms idle) and ends at 7; a failed step between leaves no trace.
  const marks = scriptedMarks([0, 3, 9, 3.5, 7]);
  const clock = new StepClock(marks);
  const first = clock.bracket(() => {});
  assert.throws(() => clock.bracket(() => { throw new Error("a launch failed"); }), /a launch failed/);
  const second = clock.bracket(() => {});
  assert.deepEqual(clock.read(first), { spanMs: 3, idleBeforeMs: null, graphMs: null, visionMs: null });
  assert.deepEqual(clock.read(second), { spanMs: 3.5, idleBeforeMs: 0.5, graphMs: null, visionMs: null });
  assert.deepEqual([...marks.live], [4], "only the latest step's end is kept, for the next step's gap");
  // A step with a graph replay inside: its start at 10 ms, the replay from 10.5 to 12.5, its end at 13.
  const replayed = new StepClock(scriptedMarks([10, 10.5, 12.5, 13]));
  const step = replayed.bracket(() => replayed.replay(() => {}));
  assert.deepEqual(replayed.read(step), { spanMs: 3, idleBeforeMs: null, graphMs: 2, visionMs: null });
});

test("a step's vision encodes are timed apart, inside the gap before it, and every mark is given back", () => {
  // The previous step ends at 1 ms; the vision encodes run 2-6 ms; the step runs 6.5-9 ms.
  const marks = scriptedMarks([0, 1, 2, 6, 6.5, 9]);
  const clock = new StepClock(marks);
  clock.read(clock.bracket(() => {}));
  const { result, marks: vision } = clock.span(() => "embeddings");
  assert.equal(result, "embeddings");
  const step = clock.bracket(() => {}, vision);
  assert.deepEqual(clock.read(step), { spanMs: 2.5, idleBeforeMs: 5.5, graphMs: null, visionMs: 4 });
  assert.deepEqual([...marks.live], [5], "only the step's end is kept");
  // Vision marks of a step that never launched, and of one whose launch threw, go back too.
  const other = scriptedMarks([0, 1, 2, 3, 4]);
  const unlaunched = new StepClock(other);
  unlaunched.discard(unlaunched.span(() => {}).marks);
  assert.throws(() => unlaunched.bracket(() => { throw new Error("a launch failed"); }, unlaunched.span(() => {}).marks), /a launch failed/);
  assert.deepEqual([...other.live], [], "no mark left held");
});

test("IRIS_STEP_PROFILE writes the decode steps' host and device times at shutdown", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "iris-profile-")), "steps.json");
  process.env.IRIS_STEP_PROFILE = path;
  try {
    const engine = await Engine.create({ modelPath: DEMO_MODEL, randomSeed: 0, contextLength: 512 });
    await engine.generate({ inputIds: [[1, 2, 3, 4, 5], [6, 7, 8]], samplingParams: { maxNewTokens: 12, ignoreEos: true, temperature: 0 } });
    await engine.shutdown();
  } finally {
    delete process.env.IRIS_STEP_PROFILE;
  }
  const { groups } = JSON.parse(readFileSync(path, "utf8")) as { groups: { kind: string; steps: number; medianMs: Record<string, number | null> }[] };
  const decode = groups.find((g) => g.kind === "decode b2");
  assert.ok(decode, `a group of the two requests' decode steps: ${groups.map((g) => g.kind).join(", ")}`);
  // The second request may join a step after the first (its prefill beside the first's decode): 10 or 11 steps.
  assert.ok(decode.steps >= 10 && decode.steps <= 11, `the decode steps of both requests: ${decode.steps}`);
  for (const field of ["launch", "wait", "handOut", "turn", "deviceSpan", "deviceIdleBefore"]) {
    const value = decode.medianMs[field];
    assert.ok(value !== null && value >= 0 && value < 1000, `${field}: ${value}`);
  }
  assert.ok(decode.medianMs.deviceSpan! > 0, "the cpu's kernels take time between the marks");
  assert.equal(decode.medianMs.deviceVision, null, "no vision encodes in decode steps");
});

test("the step profile times the vision encodes of an image prompt's step", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "iris-profile-")), "steps.json");
  process.env.IRIS_STEP_PROFILE = path;
  try {
    const engine = await Engine.create({ modelPath: DEMO_MODEL, randomSeed: 0, contextLength: 512 });
    const picture = { data: new Uint8Array(112 * 112 * 3).fill(200), width: 112, height: 112, channels: 3 as const };
    await engine.generate({ prompt: "<|vision_start|><|image_pad|><|vision_end|>What is it?", imageData: picture, samplingParams: { maxNewTokens: 2, temperature: 0 } });
    await engine.shutdown();
  } finally {
    delete process.env.IRIS_STEP_PROFILE;
  }
  const { groups, totals } = JSON.parse(readFileSync(path, "utf8")) as {
    groups: { kind: string; medianMs: Record<string, number | null> }[]; totals: Record<string, Record<string, number>>;
  };
  const prompt = groups.find((g) => g.kind.startsWith("mixed"));
  assert.ok(prompt, `the prompt's step: ${groups.map((g) => g.kind).join(", ")}`);
  const vision = prompt.medianMs.deviceVision, gap = prompt.medianMs.deviceIdleBefore;
  assert.ok(vision !== null && vision > 0, `the vision encodes take time between their marks: ${vision}`);
  // The engine's first step has no gap before it; a later one's gap holds its vision encodes.
  if (gap !== null) assert.ok(vision <= gap, `vision ${vision} ms inside the gap ${gap} ms`);
  assert.ok(totals.withPromptTokens.deviceVisionMs > 0, "the totals count it");
});
