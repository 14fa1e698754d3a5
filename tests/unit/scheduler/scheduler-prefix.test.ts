import { test } from "node:test";
import assert from "node:assert/strict";
import { assertNoLeaks, drive, job, referenceOutput, setup, tokens } from "./harness.js";
import type { Job } from "./harness.js";

const system = tokens(100, 21);
const image = (hash: number) => new Array<number>(8).fill(1_000_000 + hash);
const first = job("first", [...system, ...image(111), ...tokens(1, 6)], 5);

function runAfterFirst(jobs: Job[], prefixCache = true) {
  const s = setup({ numPages: 200, pageSize: 4, prefixCache });
  drive(s, [first]);
  const run = drive(s, jobs);
  for (const j of jobs) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j), j.spec.id);
  return { s, run };
}

test("a new request computes only what the prefix cache lacks and reports it as cachedTokens", () => {
  const jobs = [
    job("same-image", [...system, ...image(111), ...tokens(2, 6)], 5),
    job("other-image", [...system, ...image(222), ...tokens(1, 6)], 5),
    job("identical", [...first.spec.promptIds], 5),
  ];
  const { s, run } = runAfterFirst(jobs);
  // 21 text + 8 image tokens = 29 shared, 28 of them whole pages; a different image shares only the text's 20.
  const expected = { "same-image": 28, "other-image": 20, identical: 32 };
  for (const [id, cached] of Object.entries(expected)) {
    assert.equal(run.infos.get(id)?.cachedTokens, cached, id);
    const firstEntry = run.batches.flatMap((b) => b.entries).find((e) => e.requestId === id)!;
    assert.equal(firstEntry.startPosition, cached, `${id} starts computing after its cached prefix`);
    assert.equal(firstEntry.cachedTokens, cached);
  }
  // "identical" (35 tokens) matches 32, not all 35: the last token must be computed to sample from.
  assertNoLeaks(s);
});

test("a fully cached prompt still computes its last page's tokens to sample from", () => {
  const s = setup({ numPages: 50, pageSize: 4 });
  const whole = job("whole", tokens(5, 32), 3);
  drive(s, [whole]);
  const again = job("again", tokens(5, 32), 3);
  const run = drive(s, [again]);
  assert.equal(run.infos.get("again")?.cachedTokens, 28);
  const entry = run.batches[0].entries[0];
  assert.deepEqual([entry.startPosition, entry.numTokens, entry.sample], [28, 4, true]);
  assert.deepEqual(run.outputs.get("again"), referenceOutput(again));
  assertNoLeaks(s);
});

test("without a prefix cache nothing is reused and the outputs are the same", () => {
  const jobs = [job("same-image", [...system, ...image(111), ...tokens(2, 6)], 5)];
  const { s, run } = runAfterFirst(jobs, false);
  assert.equal(run.infos.get("same-image")?.cachedTokens, 0);
  assert.equal(s.cache.sizeInfo().totalPages, 0);
  assertNoLeaks(s);
});

test("a request reuses the prefill of a request that is still running", () => {
  const s = setup({ numPages: 200, pageSize: 4, maxTokensPerStep: 16 });
  const leader = job("leader", [...system, ...image(7), ...tokens(9, 3)], 40);
  const follower = job("follower", [...system, ...image(7), ...tokens(50, 10)], 3, 4);
  const run = drive(s, [leader, follower]);
  const steps = (id: string) =>
    run.batches.flatMap((b, step) => (b.entries.some((e) => e.requestId === id) ? [step] : []));
  const leaderPrefilled = run.batches.findIndex((b) => b.entries.some((e) => e.requestId === "leader" && e.sample));
  const followerStart = steps("follower")[0];
  assert.ok(leaderPrefilled < followerStart, "the follower arrives after the leader's prefill");
  assert.ok(steps("leader").at(-1)! > followerStart, "and before the leader finishes");
  assert.equal(run.infos.get("follower")?.cachedTokens, 28);
  for (const j of [leader, follower]) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j));
  assertNoLeaks(s);
});

test("two requests prefilled together both cache their pages; the later one swaps to the cached copies", () => {
  // Both compute the same prefix in the same step (no hit possible yet); the second insert finds it cached and
  // frees its duplicates, and both keep decoding correctly.
  const s = setup({ numPages: 200, pageSize: 2, maxTokensPerStep: 64 });
  const twins = [job("t1", [...system, 1, 2], 12), job("t2", [...system, 3, 4], 12)];
  const run = drive(s, twins);
  for (const j of twins) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j));
  const later = job("t3", [...system, 5], 2);
  const again = drive(s, [later]);
  assert.equal(again.infos.get("t3")?.cachedTokens, 20);
  assertNoLeaks(s);
});

test("requests arriving together that share pages wait one step and reuse them (in-batch prefix sharing)", () => {
  const s = setup({ numPages: 200, pageSize: 4 });
  // Three questions about one picture, one about another: 21 text + 8 image tokens are shared per picture.
  const jobs = [
    job("q1", [...system, ...image(111), ...tokens(1, 6)], 3),
    job("q2", [...system, ...image(111), ...tokens(2, 6)], 3),
    job("other", [...system, ...image(222), ...tokens(3, 6)], 3),
    job("q3", [...system, ...image(111), ...tokens(4, 6)], 3),
  ];
  const run = drive(s, jobs);
  for (const j of jobs) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j), j.spec.id);
  const firstStep = run.batches[0].entries.map((e) => e.requestId);
  // "other" shares only the text pages with q1, which the cache does not hold yet either: it waits as well.
  assert.deepEqual(firstStep, ["q1"]);
  assert.equal(run.infos.get("q2")?.cachedTokens, 28);
  assert.equal(run.infos.get("q3")?.cachedTokens, 28);
  assert.equal(run.infos.get("other")?.cachedTokens, 20);
  assertNoLeaks(s);
});

test("without a sharing cache nothing waits", () => {
  const s = setup({ numPages: 200, pageSize: 4, prefixCache: false });
  const jobs = [job("a", [...system, ...tokens(1, 6)], 2), job("b", [...system, ...tokens(2, 6)], 2)];
  const run = drive(s, jobs);
  assert.deepEqual(run.batches[0].entries.map((e) => e.requestId), ["a", "b"]);
  assertNoLeaks(s);
});
