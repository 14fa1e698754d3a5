/**
 * The cpu communicator between worker threads: the collectives' values (past one exchange slot, so in several
 * rounds), identical bits on every rank, vocabulary-parallel embedding and head with a padded last block, and the
 * failure paths: an aborted group and a rank that never arrives both end in RANK_FAILED, never a hang.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createGroupHandle } from "../../../src/runtime/device.js";
import { startModuleWorker } from "../../../src/utils/module-worker.js";
import { valueOf, type Scenario } from "../../helpers/comm-values.js";

interface Answer {
  result?: unknown;
  error?: { code: string; message: string };
}

function runGroup(size: number, scenario: Scenario, timeoutMs = 30_000, length = 0): Promise<Answer[]> {
  const handle = createGroupHandle("cpu", size, timeoutMs);
  return Promise.all(Array.from({ length: size }, (_, rank) => new Promise<Answer>((resolve, reject) => {
    const worker = startModuleWorker(import.meta.url, "../../helpers/comm-rank-worker", { handle, rank, scenario, length });
    worker.once("message", (m: Answer) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once("error", reject);
  })));
}

test("all-reduce, all-gather and broadcast over 3 ranks, in several rounds, the same bits on every rank", async () => {
  // 1.5M floats: more than the 4 MiB a rank exchanges per round.
  const length = 1_500_000;
  const answers = await runGroup(3, "collectives", 30_000, length);
  const results = answers.map((a) => {
    assert.equal(a.error, undefined, a.error?.message);
    return a.result as { sum: Float32Array; gathered: Float32Array; ids: number[] };
  });
  for (const i of [0, 1, 999, 1_048_575, 1_048_576, length - 1]) {
    const expected = Math.fround(Math.fround(Math.fround(valueOf(0, i)) + Math.fround(valueOf(1, i))) + Math.fround(valueOf(2, i)));
    assert.equal(results[0].sum[i], expected, `sum at ${i}`);
    for (let r = 0; r < 3; r++) assert.equal(results[0].gathered[r * length + i], Math.fround(valueOf(r, i)), `gathered rank ${r} at ${i}`);
  }
  for (const r of [1, 2]) {
    assert.deepEqual(results[r].sum, results[0].sum, `rank ${r}'s sum`);
    assert.deepEqual(results[r].gathered, results[0].gathered, `rank ${r}'s gather`);
  }
  for (const r of results) assert.deepEqual(r.ids, [100, 101, 102, 103, 104]);
});

test("vocabulary-parallel embedding and head over 3 ranks with a padded last block", async () => {
  const answers = await runGroup(3, "vocab");
  const ids = [9, 0, 4, 7];
  const row = (id: number) => [0, 1, 2].map((k) => id * 10 + k);
  const embeddings = ids.flatMap(row);
  const logits = ids.flatMap((a) => Array.from({ length: 10 }, (_, b) => row(a).reduce((s, v, k) => s + v * row(b)[k], 0)));
  for (const answer of answers) {
    assert.equal(answer.error, undefined, answer.error?.message);
    const got = answer.result as { embeddings: number[]; logits: number[] };
    assert.deepEqual(got.embeddings, embeddings);
    assert.deepEqual(got.logits, logits);
  }
});

test("an aborted group fails the other ranks' collectives with RANK_FAILED and the reason", async () => {
  const [rank0] = await runGroup(2, "abort");
  assert.equal(rank0.error?.code, "RANK_FAILED");
  assert.match(rank0.error!.message, /rank 1 exploded/);
});

test("a barrier's own timeout (the load barrier's) overrides the group's", async () => {
  const [rank0] = await runGroup(2, "barrier", 60_000);
  assert.equal(rank0.error?.code, "RANK_FAILED");
  assert.match(rank0.error!.message, /waited 300 ms in barrier/);
});

test("a rank that never arrives fails the collective after the timeout, not a hang", async () => {
  const started = Date.now();
  const [rank0] = await runGroup(2, "timeout", 300);
  assert.equal(rank0.error?.code, "RANK_FAILED");
  assert.match(rank0.error!.message, /waited 300 ms in allReduceSum/);
  assert.ok(Date.now() - started < 20_000);
});
