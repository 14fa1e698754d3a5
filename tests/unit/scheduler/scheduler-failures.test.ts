import { test } from "node:test";
import assert from "node:assert/strict";
import { assertNoLeaks, setup, tokens } from "./harness.js";

test("a request aborted while its batch is out is skipped by processBatchResult, whatever its token", () => {
  const s = setup({ numPages: 40, pageSize: 4 });
  s.scheduler.addRequest({ id: "fails", promptIds: tokens(1, 10), maxNewTokens: 4 });
  s.scheduler.addRequest({ id: "goes-on", promptIds: tokens(2, 10), maxNewTokens: 4 });
  const batch = s.scheduler.schedule()!;
  assert.equal(batch.numSampled, 2);
  // The engine aborts a request that failed in the step before recording the step; the runner gave it -1.
  assert.equal(s.scheduler.abortRequest("fails"), true);
  const tokensOut = batch.entries.map((e) => (e.requestId === "fails" ? -1 : 7));
  const sampled = s.scheduler.processBatchResult(batch, tokensOut);
  assert.deepEqual(sampled.map((t) => [t.requestId, t.token]), [["goes-on", 7]]);
  // A bad token for a request still running is a bug and is refused.
  const next = s.scheduler.schedule()!;
  assert.throws(() => s.scheduler.processBatchResult(next, [-1]), /sampled token -1 is not a token id/);
});

test("pages of a request aborted mid-batch go back to the pool", () => {
  const s = setup({ numPages: 40, pageSize: 4 });
  s.scheduler.addRequest({ id: "a", promptIds: tokens(3, 9), maxNewTokens: 2 });
  const batch = s.scheduler.schedule()!;
  s.scheduler.abortRequest("a");
  s.scheduler.processBatchResult(batch, [-1]);
  assert.equal(s.scheduler.hasWork(), false);
  assertNoLeaks(s);
});
