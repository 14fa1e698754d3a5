/**
 * Decode steps replayed as graphs give the tokens eager steps give, on the cpu backend with CUDA-graph semantics
 * emulated (tests/helpers/recording-graphs.ts): what a capture bakes in (tensors, launch bounds, host scalars) is
 * baked in there too, so an input not refilled in place or a bound that changes shows as a wrong token.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultGraphBuckets } from "../../../src/runner/decode-graphs.js";
import { CpuBackend } from "../../../src/runtime/cpu/cpu-backend.js";
import { modelDir } from "../../helpers/fixtures.js";
import { assertSameOutputs, runStaggered } from "../../helpers/graph-checks.js";
import { recordingGraphs } from "../../helpers/recording-graphs.js";
import { DEMO_MODEL } from "../../helpers/step-checks.js";

for (const [name, path] of [["demo model", DEMO_MODEL], ["tiny Llama 4 (query scales, chunked attention, MoE)", modelDir("tiny-llama4")]]) {
  test(`${name}: decode steps replayed as graphs give the eager tokens`, async () => {
    const eager = await runStaggered(path, undefined, undefined);
    const { backend, recorder } = recordingGraphs(new CpuBackend());
    const graphed = await runStaggered(path, backend, [1, 2, 4, 8]);
    assertSameOutputs(graphed, eager);
    assert.equal(recorder.captures, 4, "buckets 1, 2, 4 and 8 are each captured once");
    assert.ok(recorder.replays > 25, `most decode steps are replays: ${recorder.replays}`);
    assert.equal(graphed.generalAllocationsAtFive, 0, "a replayed step allocates nothing");
    assert.ok(graphed.kernelCallsAtFive < eager.kernelCallsAtFive / 3,
      `a replayed step launches ${graphed.kernelCallsAtFive} kernels itself (eager: ${eager.kernelCallsAtFive})`);
  });
}

test("graph buckets default to SGLang's: 1, 2, 4, 8, then multiples of 8, the maximum included", () => {
  assert.deepEqual(defaultGraphBuckets(160).slice(0, 6), [1, 2, 4, 8, 16, 24]);
  assert.equal(defaultGraphBuckets(160).at(-1), 160);
  assert.deepEqual(defaultGraphBuckets(20), [1, 2, 4, 8, 16, 20]);
  assert.deepEqual(defaultGraphBuckets(3), [1, 2, 3]);
});
