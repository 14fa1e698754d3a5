import { test } from "node:test";
import assert from "node:assert/strict";
import { assertNoLeaks, drive, job, prng, referenceOutput, setup, tokens } from "./harness.js";
import type { Job } from "./harness.js";

/**
 * Random workloads with fixed seeds: shared system prompts, images as pad values, arrivals over time, aborts,
 * page sizes 1-6, pools from barely enough to roomy, budgets from 1 token up, prefix cache on or off. Every step
 * checks the page accounting; every completed request must match the reference.
 */
for (const seed of [7, 42, 2024, 31337]) {
  test(`randomized scheduling, seed ${seed}`, () => {
    const random = prng(seed);
    const pageSize = 1 + random(6);
    const systems = [0, 1, 2].map((i) => tokens(300 * i + 5, random(30)));
    const images = [0, 1, 2].map((i) => new Array<number>(8 + random(9)).fill(1_000_000 + seed * 10 + i));
    const jobs: Job[] = Array.from({ length: 40 }, (_, i) => {
      const prompt = [
        ...systems[random(3)],
        ...(random(2) === 0 ? images[random(3)] : []),
        ...tokens(random(900), 1 + random(20)),
      ];
      const limit = 1 + random(30);
      return job(`s${seed}-${i}`, prompt, limit, random(30), limit + random(5));
    });
    const maxNeed = Math.max(...jobs.map((j) => Math.ceil((j.spec.promptIds.length + j.spec.maxNewTokens) / pageSize)));
    const s = setup({
      numPages: maxNeed + 1 + random(maxNeed),
      pageSize,
      maxTokensPerStep: 1 + random(64),
      maxRunningRequests: 1 + random(10),
      prefixCache: random(4) !== 0,
      newTokenRatio: { initial: random(6) / 10, min: 0 },
    });
    const aborts = new Map<number, string[]>();
    const aborted = jobs.filter(() => random(10) === 0).map((j) => j.spec.id);
    for (const id of aborted) aborts.set(random(80), [...(aborts.get(random(80)) ?? []), id]);
    const run = drive(s, jobs, aborts);
    assert.deepEqual(run.rejected, []);
    for (const j of jobs) {
      const output = run.outputs.get(j.spec.id);
      if (output === undefined) assert.ok(aborted.includes(j.spec.id), `${j.spec.id} never finished`);
      else assert.deepEqual(output, referenceOutput(j), j.spec.id);
    }
    assertNoLeaks(s);
    console.log(`seed ${seed}: page size ${pageSize}, ${s.allocator.capacity} pages, ${run.steps} steps, ` +
      `${s.scheduler.stats().numRetractions} retractions, ${run.outputs.size} finished`);
  });
}
