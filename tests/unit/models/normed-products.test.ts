// The decode path whose products carry the layer's norms and residual adds (Qwen2.5-VL: rmsNormLinear before q|k|v
// and gate|up, linearAddResidual after o and down): taken at one and two rows, where the cuda backend fuses them too,
// and giving the tokens of the addRmsNorm path exactly (the cpu's fused kernels are its separate kernels in sequence).
import assert from "node:assert/strict";
import { test } from "node:test";
import { CpuBackend } from "../../../src/runtime/cpu/cpu-backend.js";
import { modelDir } from "../../helpers/fixtures.js";
import { StepHarness } from "../../helpers/step-harness.js";

function prompt(length: number, seed: number): Int32Array {
  let state = seed;
  return Int32Array.from({ length }, () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) % 200);
}

/** Two requests, one greedy and one sampled, decoding two at a time and then alone; the calls of the whole run. */
async function run(backend: CpuBackend): Promise<{ outputs: Map<string, number[]>; calls: Map<string, number> }> {
  const h = new StepHarness(modelDir("tiny-qwen2_5-vl"), { backend });
  h.add({ id: "greedy", inputIds: prompt(11, 1), maxNewTokens: 6, sampling: { temperature: 0 } });
  h.add({ id: "sampled", inputIds: prompt(23, 2), maxNewTokens: 12, sampling: { temperature: 0.9, topK: 40 } });
  await h.runToCompletion();
  return { outputs: h.outputs, calls: h.counter.calls };
}

test("decode steps of one and two rows take the norms and residual adds into their products, with the same tokens", async () => {
  const fused = await run(new CpuBackend());
  const apart = new CpuBackend();
  apart.fusesNormedProducts = () => false;
  const separate = await run(apart);
  assert.deepEqual(fused.outputs, separate.outputs);
  assert.equal(fused.outputs.get("sampled")?.length, 12);
  // Per decode step and layer: one normed product (q|k|v) and two residual products (o, down); the post-attention
  // norm a kernel of its own (rmsNorm), as is the final norm of each step.
  const decodeSteps = 12 - 1;  // every step after the prefills decodes (the sampled request's last 6 alone)
  const layers = (fused.calls.get("rmsNormLinear") ?? 0) / decodeSteps;
  assert.ok(Number.isInteger(layers) && layers > 0, `rmsNormLinear calls ${fused.calls.get("rmsNormLinear")}`);
  assert.equal(fused.calls.get("linearAddResidual"), 2 * layers * decodeSteps);
  assert.equal(separate.calls.get("rmsNormLinear"), undefined);
  assert.equal(separate.calls.get("linearAddResidual"), undefined);
  // The separate path's add-and-norm kernels are the ones the fused steps no longer run.
  assert.equal((separate.calls.get("addRmsNorm") ?? 0) - (fused.calls.get("addRmsNorm") ?? 0), 2 * layers * decodeSteps);
  assert.equal((fused.calls.get("rmsNorm") ?? 0) - (separate.calls.get("rmsNorm") ?? 0), layers * decodeSteps);
});
