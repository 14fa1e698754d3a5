/**
 * Tensor parallelism on the cpu backend (issue 12's CI check): each tiny model sharded over two ranks (worker threads
 * joined by the cpu communicator) gives, on every fixture case, the first logits of the unsharded model within
 * 1e-5 relative and the same greedy tokens; and each rank reads from the checkpoint only the shard it keeps. Over
 * four ranks the models' two KV heads are replicated (each on two ranks), with the same results.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LAYOUTS, type FixtureModel } from "../../helpers/fixtures.js";
import { loadFixtureModel } from "../../helpers/model-harness.js";
import { relativeL2 } from "../../helpers/numerics.js";
import { runFixtureCases, type CaseRun } from "../../helpers/tp-cases.js";
import { runRanks } from "../../helpers/tp-ranks.js";

const CASES: [FixtureModel, string, number][] = [
  ["tiny-qwen2_5-vl", LAYOUTS["tiny-qwen2_5-vl"][0], 2], ["tiny-llama4", LAYOUTS["tiny-llama4"][1], 2],
  ["tiny-qwen2_5-vl", LAYOUTS["tiny-qwen2_5-vl"][1], 4], ["tiny-llama4", LAYOUTS["tiny-llama4"][0], 4],
];
const singles = new Map<string, Promise<CaseRun[]>>();

for (const [fixture, layout, size] of CASES) {
  test(`${layout}: tpSize ${size} gives the logits and greedy tokens of tpSize 1 on every case`, async () => {
    if (!singles.has(fixture)) singles.set(fixture, runFixtureCases(loadFixtureModel(layout).model, fixture));
    const single = await singles.get(fixture)!;
    const ranks = await runRanks(fixture, layout, size);
    assert.equal(ranks[0].runs.length, single.length);
    single.forEach((one, i) => {
      for (const [rank, result] of ranks.entries()) {
        const run = result.runs[i];
        assert.equal(run.name, one.name);
        const error = relativeL2(run.firstLogits, one.firstLogits);
        assert.ok(error <= 1e-5, `${one.name} rank ${rank}: first logits relative error ${error}`);
        assert.deepEqual(run.tokens, one.tokens, `${one.name} rank ${rank}: greedy tokens`);
        if (rank === 0) console.log(`${layout}/${one.name} over ${size}: logits ${error.toExponential(2)}, tokens ${run.tokens.join(" ")}`);
      }
    });
    for (const [rank, result] of ranks.entries()) {
      // 4 query heads and 2 KV heads: one KV head per rank, its own over 2 ranks, shared by two ranks over 4.
      assert.equal(result.kvHeads, 1);
      assert.equal(result.bytesRead, result.keptBytes, `rank ${rank} read ${result.bytesRead} bytes, keeps ${result.keptBytes}`);
      assert.ok(result.bytesRead < 0.75 * result.checkpointBytes, `rank ${rank} read ${result.bytesRead} of ${result.checkpointBytes} bytes`);
    }
  });
}
