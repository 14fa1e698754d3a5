// The runner's side of structured output: a constrained request samples only tokens its mask allows, and sampling
// one without a mask computed after its newest token is an internal error, never an unmasked token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isIrisError } from "../../../src/core/errors.js";
import { DEMO_MODEL, maskOf } from "../../helpers/step-checks.js";
import { StepHarness } from "../../helpers/step-harness.js";

const prompt = Int32Array.from({ length: 12 }, (_, i) => 10 + i);

test("a constrained request's tokens stay in its mask, greedy or sampled", async () => {
  const h = new StepHarness(DEMO_MODEL);
  const allowed = [7, 8, 9, 300];
  h.add({ id: "greedy", inputIds: prompt, maxNewTokens: 6, sampling: { temperature: 0, regex: "x", ignoreEos: false }, tokenMask: maskOf(allowed, h.vocabSize) });
  h.add({ id: "sampled", inputIds: prompt, maxNewTokens: 6, sampling: { temperature: 1.5, regex: "x", ignoreEos: false }, tokenMask: maskOf(allowed, h.vocabSize) });
  await h.runToCompletion();
  for (const id of ["greedy", "sampled"]) assert.ok(h.outputs.get(id)!.every((t) => allowed.includes(t)), `${id}: ${h.outputs.get(id)}`);
});

test("sampling a constrained request without a fresh mask is an INTERNAL error", async () => {
  const h = new StepHarness(DEMO_MODEL);
  // No tokenMask: the harness never sets one, as a core that forgot to ask the grammar worker would.
  h.add({ id: "r", inputIds: prompt, maxNewTokens: 3, sampling: { temperature: 1, regex: "x", ignoreEos: false } });
  await assert.rejects(h.step(), (err) => isIrisError(err, "INTERNAL") && /without its grammar's mask/.test(err.message));
});
