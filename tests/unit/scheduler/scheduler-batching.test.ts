import { test } from "node:test";
import assert from "node:assert/strict";
import { assertNoLeaks, drive, job, referenceOutput, setup, tokens } from "./harness.js";
import type { Job } from "./harness.js";

const staggered: Job[] = Array.from({ length: 12 }, (_, i) =>
  job(`r${i}`, tokens(i * 31, 5 + ((i * 13) % 36)), 3 + ((i * 7) % 18), i < 4 ? 0 : i * 2),
);

test("continuous batching: requests join mid-run, respect the caps and produce the reference outputs", () => {
  const s = setup({ numPages: 200, pageSize: 4, maxTokensPerStep: 32, maxRunningRequests: 5 });
  const run = drive(s, staggered);
  for (const j of staggered) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j), j.spec.id);
  for (const batch of run.batches) {
    assert.ok(batch.numTokens <= 32, `batch of ${batch.numTokens} tokens`);
    assert.ok(batch.entries.length <= 5, `batch of ${batch.entries.length} requests`);
    assert.equal(batch.numTokens, batch.entries.reduce((sum, e) => sum + e.numTokens, 0));
  }
  const mixed = run.batches.some((b) => b.entries.some((e) => e.isPrefill) && b.entries.some((e) => !e.isPrefill));
  assert.ok(mixed, "some step decodes running requests while prefilling a new one");
  assert.equal(s.scheduler.stats().numRetractions, 0);
  assertNoLeaks(s);
});

test("a prompt longer than the budget is prefilled in chunks; decodes keep their token", () => {
  const s = setup({ numPages: 100, pageSize: 4, maxTokensPerStep: 16 });
  const long = job("long", tokens(3, 50), 30);
  const late = job("late", tokens(500, 40), 4, 6);
  const run = drive(s, [long, late]);
  const chunks = (id: string) =>
    run.batches.flatMap((b) => b.entries.filter((e) => e.requestId === id && e.isPrefill));
  assert.deepEqual(
    chunks("long").map((e) => [e.startPosition, e.numTokens, e.sample]),
    [[0, 16, false], [16, 16, false], [32, 16, false], [48, 2, true]],
  );
  // While "long" decodes, "late" gets the 15 tokens the decode leaves.
  assert.deepEqual(
    chunks("late").map((e) => [e.startPosition, e.numTokens, e.sample]),
    [[0, 15, false], [15, 15, false], [30, 10, true]],
  );
  for (const j of [long, late]) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j));
  assertNoLeaks(s);
});

test("misuse is caught: a second schedule, a wrong token count, bad specs, a request kept past maxNewTokens", () => {
  const s = setup({ numPages: 50, pageSize: 2 });
  s.scheduler.addRequest({ id: "a", promptIds: [1, 2, 3], maxNewTokens: 1 });
  assert.throws(() => s.scheduler.addRequest({ id: "a", promptIds: [1], maxNewTokens: 1 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => s.scheduler.addRequest({ id: "b", promptIds: [], maxNewTokens: 1 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => s.scheduler.addRequest({ id: "c", promptIds: [1], maxNewTokens: -1 }), { code: "INVALID_ARGUMENT" });
  const batch = s.scheduler.schedule()!;
  assert.throws(() => s.scheduler.schedule(), { code: "INTERNAL" });
  assert.throws(() => s.scheduler.processBatchResult(batch, []), { code: "INVALID_ARGUMENT" });
  s.scheduler.processBatchResult(batch, [7]);
  assert.deepEqual(s.scheduler.getRequest("a")?.outputIds, [7]);
  // The engine should finish "a" now (maxNewTokens 1); scheduling another decode for it is refused.
  assert.throws(() => s.scheduler.schedule(), { code: "INTERNAL" });
  assert.throws(() => s.scheduler.finishRequest("nope"), { code: "INVALID_ARGUMENT" });
});

test("abort removes waiting and running requests and frees their pages", () => {
  const s = setup({ numPages: 120, pageSize: 4, maxTokensPerStep: 24, maxRunningRequests: 2 });
  const jobs = [job("a", tokens(1, 30), 40), job("b", tokens(2, 12), 40), job("c", tokens(3, 9), 8), job("d", tokens(4, 7), 6)];
  const aborts = new Map([[5, ["a", "c", "ghost"]]]); // "a" is running, "c" waits behind the running cap
  const run = drive(s, jobs, aborts);
  assert.equal(run.outputs.has("a"), false);
  assert.equal(run.outputs.has("c"), false);
  for (const j of [jobs[1], jobs[3]]) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j));
  assert.equal(s.scheduler.abortRequest("b"), false, "finished requests are unknown");
  assertNoLeaks(s);
});

test("schedule returns null when idle and the stats follow the queues", () => {
  const s = setup({ numPages: 20, pageSize: 4 });
  assert.equal(s.scheduler.schedule(), null);
  s.scheduler.addRequest({ id: "x", promptIds: tokens(0, 9), maxNewTokens: 3 });
  assert.equal(s.scheduler.stats().numWaiting, 1);
  const batch = s.scheduler.schedule()!;
  assert.deepEqual(s.scheduler.stats().numRunning, 1);
  assert.equal(s.scheduler.stats().freePages, s.allocator.capacity - 3);
  s.scheduler.processBatchResult(batch, [5]);
  assert.equal(s.scheduler.finishRequest("x").promptLength, 9);
  assert.equal(s.scheduler.schedule(), null);
  assert.equal(s.scheduler.stats().cachedPages, 2, "the two whole prompt pages stay cached");
});
