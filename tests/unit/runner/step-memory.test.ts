/**
 * The runner's seam as a GPU needs it, asserted with the counting backend: a warmed-up decode step allocates
 * nothing from the general allocator, uploads only into buffers that outlive it, and draws the same arena offsets
 * as the step before (what a captured CUDA graph replays); a thousand requests with images leave the allocator
 * where it started.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { modelDir } from "../../helpers/fixtures.js";
import { DEMO_MODEL, decodeStepsAreStable, thousandRequests } from "../../helpers/step-checks.js";

test("demo model: a warmed-up greedy decode step allocates nothing and repeats its arena offsets", async () => {
  await decodeStepsAreStable(DEMO_MODEL, { temperature: 0 });
});

test("demo model: the same with top-k/top-p/min-p sampling", async () => {
  await decodeStepsAreStable(DEMO_MODEL, { temperature: 0.8, topK: 20, topP: 0.9, minP: 0.01 });
});

test("demo model: the same with logprobs (top 3 and two asked ids) computed each step", async () => {
  await decodeStepsAreStable(DEMO_MODEL, { temperature: 0.8 }, undefined, { startLen: -1, topNum: 3, tokenIds: [1, 2] });
});

test("demo model: the same with structured output's token masks on two of the four requests", async () => {
  await decodeStepsAreStable(DEMO_MODEL, { temperature: 1 }, undefined, undefined, [3, 40, 41, 97, 200, 391]);
});

test("tiny Llama 4 (query scales, chunked attention, MoE): a warmed-up decode step allocates nothing and repeats", async () => {
  await decodeStepsAreStable(modelDir("tiny-llama4"), { temperature: 0 });
});

test("1,000 requests with images leave the allocator's live bytes where they started once the caches are flushed", async () => {
  const { start, end } = await thousandRequests();
  assert.equal(end.allocatedBytes, start.allocatedBytes, `live bytes ${end.allocatedBytes} after 1,000 requests, ${start.allocatedBytes} before`);
});
