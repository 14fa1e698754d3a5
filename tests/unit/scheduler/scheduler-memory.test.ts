import { test } from "node:test";
import assert from "node:assert/strict";
import { isIrisError } from "../../../src/core/errors.js";
import { NewTokenRatio } from "../../../src/scheduler/new-token-ratio.js";
import { assertNoLeaks, drive, job, referenceOutput, setup, tokens } from "./harness.js";

const crowd = Array.from({ length: 8 }, (_, i) => job(`r${i}`, tokens(40 * i + 1, 8 + i), 20 + i * 2, i % 4));

test("a tiny pool retracts requests and recomputes them; outputs equal a big pool's and nothing leaks", () => {
  const big = setup({ numPages: 400, pageSize: 2, maxTokensPerStep: 32 });
  const bigRun = drive(big, crowd);
  assert.equal(big.scheduler.stats().numRetractions, 0);
  // The largest request needs 25 pages (15 prompt + 34 new tokens); the pool holds 25. A zero new-token ratio
  // admits as if no request would ever decode, so decodes soon run out of pages.
  const tiny = setup({ numPages: 26, pageSize: 2, maxTokensPerStep: 32, newTokenRatio: { initial: 0, min: 0 } });
  const tinyRun = drive(tiny, crowd);
  assert.deepEqual(tinyRun.rejected, []);
  assert.ok(tiny.scheduler.stats().numRetractions > 0, "the tiny pool forces retractions");
  assert.ok([...tinyRun.infos.values()].some((info) => info.numRetractions > 0));
  for (const j of crowd) {
    assert.deepEqual(tinyRun.outputs.get(j.spec.id), referenceOutput(j), j.spec.id);
    assert.deepEqual(tinyRun.outputs.get(j.spec.id), bigRun.outputs.get(j.spec.id));
  }
  assertNoLeaks(big);
  assertNoLeaks(tiny);
});

test("the default new-token ratio also completes everything in a tight pool", () => {
  for (const prefixCache of [true, false]) {
    const s = setup({ numPages: 30, pageSize: 2, maxTokensPerStep: 16, prefixCache });
    const run = drive(s, crowd);
    assert.deepEqual(run.rejected, []);
    for (const j of crowd) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j), j.spec.id);
    assertNoLeaks(s);
  }
});

test("a request that cannot fit even alone is rejected with OUT_OF_MEMORY; one that just fits completes", () => {
  const s = setup({ numPages: 11, pageSize: 4 }); // 10 usable pages: 40 tokens
  const tooBig = job("too-big", tokens(1, 30), 11);
  const exact = job("exact", tokens(2, 30), 10);
  const small = job("small", tokens(3, 5), 12);
  let message = "";
  try {
    s.scheduler.addRequest(tooBig.spec);
  } catch (err) {
    assert.ok(isIrisError(err, "OUT_OF_MEMORY"));
    message = err.message;
  }
  assert.match(message, /needs 11 KV pages .* holds 10/);
  const run = drive(s, [exact, small]);
  for (const j of [exact, small]) assert.deepEqual(run.outputs.get(j.spec.id), referenceOutput(j));
  assert.equal(run.outputs.get("exact")?.length, 10);
  assertNoLeaks(s);
});

test("the new-token ratio decays on calm steps, resets on retraction and clips long outputs", () => {
  const ratio = new NewTokenRatio({ initial: 0.5, min: 0.1, decaySteps: 4, clipNewTokens: 100 });
  assert.equal(ratio.expectedTokens(10, 20), 20);
  assert.equal(ratio.expectedTokens(10, 10_000), 60, "clipped at 100 new tokens");
  for (let i = 0; i < 10; i++) ratio.onStep(false);
  assert.equal(ratio.current, 0.1);
  ratio.onStep(true);
  assert.equal(ratio.current, 0.5);
  assert.throws(() => new NewTokenRatio({ initial: 1.5 }), { code: "INVALID_ARGUMENT" });
  assert.equal(new NewTokenRatio().min, 0.7 * 0.14);
});
