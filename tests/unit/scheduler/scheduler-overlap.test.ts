/**
 * Scheduling a step while the previous one is in flight: commitBatch advances requests with placeholder tokens,
 * resolveBatch fills them in step order, a request that reached its limit is not decoded again, one that left
 * meanwhile is skipped, and no placeholder ever keys the prefix cache.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertNoLeaks, setup, tokens } from "./harness.js";

test("step n+1 is scheduled before step n resolves; placeholders resolve in step order", () => {
  const s = setup({ numPages: 40, pageSize: 4 });
  const prompt = tokens(5, 7);
  s.scheduler.addRequest({ id: "a", promptIds: prompt, maxNewTokens: 3 });
  const first = s.scheduler.schedule()!;
  s.scheduler.commitBatch(first);
  const history = s.scheduler.tokenHistory("a");
  assert.equal(history.length, 8);
  assert.equal(history[7], -1, "a placeholder until the token is read back");
  const second = s.scheduler.schedule()!;
  assert.deepEqual(second.entries.map((e) => [e.startPosition, e.numTokens, e.sample]), [[7, 1, true]]);
  s.scheduler.commitBatch(second);
  assert.throws(() => s.scheduler.resolveBatch(second, [9]), /oldest committed/);
  assert.deepEqual(s.scheduler.resolveBatch(first, [100]), [{ requestId: "a", token: 100, numOutputTokens: 1 }]);
  const third = s.scheduler.schedule()!;
  s.scheduler.commitBatch(third);
  // Three outputs (one known, two placeholders) reach maxNewTokens: nothing left to schedule while they are out.
  assert.equal(s.scheduler.schedule(), null);
  assert.deepEqual(s.scheduler.resolveBatch(second, [101]), [{ requestId: "a", token: 101, numOutputTokens: 2 }]);
  assert.deepEqual(s.scheduler.resolveBatch(third, [102]), [{ requestId: "a", token: 102, numOutputTokens: 3 }]);
  assert.deepEqual([...s.scheduler.tokenHistory("a")], [...prompt, 100, 101, 102]);
  s.scheduler.finishRequest("a");
  assertNoLeaks(s);
});

test("a request finished while its next step is in flight is skipped, and no placeholder reaches the prefix cache", () => {
  const s = setup({ numPages: 40, pageSize: 4 });
  const prompt = tokens(6, 11);
  s.scheduler.addRequest({ id: "a", promptIds: prompt, maxNewTokens: 8 });
  const first = s.scheduler.schedule()!;
  s.scheduler.commitBatch(first);
  const second = s.scheduler.schedule()!;
  s.scheduler.commitBatch(second);
  s.scheduler.resolveBatch(first, [50]);
  // The engine saw a stop token: the request leaves with its second step still out.
  s.scheduler.finishRequest("a");
  assert.deepEqual(s.scheduler.resolveBatch(second, [51]), []);
  // The cache holds the prompt and the known token (12 tokens, 3 whole pages), never the placeholder after them.
  s.scheduler.addRequest({ id: "b", promptIds: [...prompt, 50, 51, 52], maxNewTokens: 1 });
  const next = s.scheduler.schedule()!;
  assert.equal(next.entries[0].cachedTokens, 12);
  s.scheduler.processBatchResult(next, [1]);
  s.scheduler.finishRequest("b");
  s.scheduler.checkIntegrity();
  assertNoLeaks(s);
});
