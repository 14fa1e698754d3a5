// Decode graphs on the GPU: steps of 1 to 5 sequences padded to buckets 1, 2, 4 and 8 and replayed as CUDA graphs
// give exactly the tokens of eager steps (the same kernels with the same launch bounds), a replayed step allocates
// nothing and enqueues a handful of kernels of its own (the sampling), not the forward pass's hundreds. Greedy steps
// take argmax on the bf16 logits (no F32 copy) with the tokens of the cast path.
import assert from "node:assert/strict";
import { test } from "node:test";
import { modelDir } from "../helpers/fixtures.js";
import { assertSameOutputs, runStaggered } from "../helpers/graph-checks.js";
import { DEMO_MODEL } from "../helpers/step-checks.js";
import { setGreedyArgmaxOnLogits } from "../../src/runner/sampler.js";
import { cuda, skipCuda } from "./harness.js";

for (const [name, path] of [["demo model", DEMO_MODEL], ["tiny Qwen2.5-VL", modelDir("tiny-qwen2_5-vl")]]) {
  test(`${name} on cuda: decode steps replayed as CUDA graphs give the eager tokens`, { skip: skipCuda }, async () => {
    const eager = await runStaggered(path, cuda().backend, undefined);
    const graphed = await runStaggered(path, cuda().backend, [1, 2, 4, 8]);
    assertSameOutputs(graphed, eager);
    assert.equal(graphed.generalAllocationsAtFive, 0, "a replayed step allocates nothing");
    assert.ok(graphed.kernelCallsAtFive < eager.kernelCallsAtFive / 3,
      `a replayed step launches ${graphed.kernelCallsAtFive} kernels itself (eager: ${eager.kernelCallsAtFive})`);
  });
}

test("tiny Qwen2.5-VL on cuda: greedy steps' argmax on the bf16 logits gives the tokens of the F32 cast", { skip: skipCuda }, async () => {
  const path = modelDir("tiny-qwen2_5-vl");
  const direct = await runStaggered(path, cuda().backend, [1, 2, 4, 8]);
  setGreedyArgmaxOnLogits(false);
  try {
    assertSameOutputs(direct, await runStaggered(path, cuda().backend, [1, 2, 4, 8]));
  } finally {
    setGreedyArgmaxOnLogits(true);
  }
});
