/**
 * `tpSize` through the Engine on the cpu device (ranks on worker threads): every fixture case of both tiny models,
 * in one batch, gives the greedy tokens and logprobs of tpSize 1, and streams the same text; the memory plan is per
 * rank; invalid sizes are refused with a clear error; a rank that fails takes the engine down with RANK_FAILED.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import type { GenerateResult } from "../../src/core/request.js";
import { LAYOUTS, loadCases, modelDir, type FixtureModel } from "../helpers/fixtures.js";
import { collect, greedy, rejectsWith } from "../helpers/engine-helpers.js";

const OPTIONS = { maxTotalTokens: 8192, randomSeed: 7 };
const LOGPROBS = { returnLogprob: true, topLogprobsNum: 3 };

function batchOf(model: FixtureModel): { prompt: string[]; imageData: string[][] } {
  const cases = loadCases(model);
  return { prompt: cases.map((c) => c.prompt), imageData: cases.map((c) => c.imagePaths) };
}

for (const [model, layout] of [["tiny-qwen2_5-vl", LAYOUTS["tiny-qwen2_5-vl"][0]], ["tiny-llama4", LAYOUTS["tiny-llama4"][0]]] as const) {
  describe(`${layout} with tpSize 2 through the Engine`, () => {
    let one: Engine, two: Engine;
    before(async () => {
      [one, two] = await Promise.all([
        Engine.create({ modelPath: modelDir(layout), ...OPTIONS }),
        Engine.create({ modelPath: modelDir(layout), ...OPTIONS, tpSize: 2 }),
      ]);
    });
    after(() => Promise.all([one?.shutdown(), two?.shutdown()]));

    test("every case, batched, gives the greedy tokens and logprobs of tpSize 1", async () => {
      const request = { ...batchOf(model), samplingParams: greedy(12), ...LOGPROBS };
      const [single, parallel] = (await Promise.all([one.generate(request), two.generate(request)])) as [GenerateResult[], GenerateResult[]];
      assert.equal(parallel.length, loadCases(model).length);
      parallel.forEach((result, i) => {
        assert.deepEqual(result.outputIds, single[i].outputIds, `case ${i}`);
        const a = single[i].metaInfo.outputTokenLogprobs!, b = result.metaInfo.outputTokenLogprobs!;
        a.forEach(([logprob], k) => assert.ok(Math.abs(logprob! - b[k][0]!) < 1e-4, `case ${i} step ${k}: ${logprob} vs ${b[k][0]}`));
        assert.deepEqual(result.metaInfo.outputTopLogprobs!.map((top) => top.map((t) => t[1])), single[i].metaInfo.outputTopLogprobs!.map((top) => top.map((t) => t[1])));
      });
    });

    test("streaming gives the same text as tpSize 1", async () => {
      const c = loadCases(model).find((x) => x.images.length > 0)!;
      const request = { prompt: c.prompt, imageData: c.imagePaths, samplingParams: greedy(8) };
      const [expected, chunks] = await Promise.all([one.generate(request) as Promise<GenerateResult>, collect(two.generateStream(request))]);
      assert.equal(chunks.map((ch) => ch.delta).join(""), expected.text);
      assert.ok(chunks.length > 1);
    });

    test("the memory plan is per rank: half the KV cache, a share of the weights", () => {
      assert.deepEqual(two.info.tensorParallel, { size: 2, kvHeadsPerRank: 1 });
      assert.equal(two.info.kvCacheBytes * 2, one.info.kvCacheBytes);
      assert.ok(two.info.weightBytes < 0.75 * one.info.weightBytes && two.info.weightBytes > 0.25 * one.info.weightBytes);
    });
  });
}

test("tpSize values the model cannot be split by are refused before anything loads", async () => {
  const modelPath = modelDir("tiny-qwen2_5-vl");
  await rejectsWith(Engine.create({ modelPath, tpSize: 3 }), "INVALID_ARGUMENT", /tpSize 3 does not fit this model: 4 attention heads do not divide among 3 ranks/);
  await rejectsWith(Engine.create({ modelPath, tpSize: 8 }), "INVALID_ARGUMENT", /tpSize 8 does not fit this model/);
  await rejectsWith(Engine.create({ modelPath, tpSize: 0 }), "INVALID_ARGUMENT", /tpSize must be a positive integer/);
  await rejectsWith(Engine.create({ modelPath, tpSize: 1.5 }), "INVALID_ARGUMENT", /tpSize must be a positive integer/);
});

test("a rank that fails mid-generation takes the engine down with RANK_FAILED, never a hang", async () => {
  // Rank 1 fails before its third step, while rank 0 waits for it in that step's first collective.
  process.env.IRIS_TEST_FAIL_RANK = "1:3";
  let engine: Engine;
  try {
    engine = await Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl"), ...OPTIONS, tpSize: 2 });
  } finally {
    delete process.env.IRIS_TEST_FAIL_RANK;
  }
  const started = Date.now();
  const error = await rejectsWith(engine.generate({ prompt: "hello there", samplingParams: greedy(8) }), "RANK_FAILED", /rank 1 failed: a failure at step 3/);
  assert.match(error.message, /the engine is down/);
  assert.ok(Date.now() - started < 30_000, "the failure surfaced well before the collective timeout");
  await rejectsWith(engine.generate({ prompt: "again", samplingParams: greedy(2) }), "RANK_FAILED");
  await engine.shutdown();
});
