/**
 * Parallel sampling (`n`): a prompt prefilled once and sampled n times. Samples with temperature > 0 differ and are
 * reproducible from samplingSeed; greedy samples agree; the later samples reuse the first one's prompt KV through
 * the prefix cache; a single prompt with n returns a list (SGLang's shape), a batch keeps each prompt's samples
 * together; streaming gives every sample its own index; a bad n fails with INVALID_ARGUMENT.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateResult } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, casesByName, collect, greedy, rejectsWith } from "../helpers/engine-helpers.js";

const { text_only: textOnly, one_image: oneImage } = casesByName(QWEN);
/** The results of a request with n > 1: always a list. */
function list(results: GenerateResult | GenerateResult[]): GenerateResult[] {
  assert.ok(Array.isArray(results), "a request with n > 1 returns a list");
  return results;
}
const sampled = (seed: number, n: number) => ({ temperature: 1.0, maxNewTokens: 12, ignoreEos: true, samplingSeed: seed, n });

describe("parallel sampling (n)", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN) });
  });
  after(async () => engine?.shutdown());

  test("seeded samples differ from each other and repeat with the same seed", async () => {
    await engine.flushCache();
    const first = list(await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: sampled(7, 4) }));
    assert.equal(first.length, 4);
    assert.equal(new Set(first.map((r) => r.outputIds.join(","))).size, 4, "four seeded samples should differ");
    const again = list(await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: sampled(7, 4) }));
    assert.deepEqual(again.map((r) => r.outputIds), first.map((r) => r.outputIds));
    // Sample 0 keeps the request's seed: n = 1 with that seed gives the same tokens.
    const one = await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: sampled(7, 1) });
    assert.ok(!Array.isArray(one), "n = 1 keeps a single prompt's single result");
    assert.deepEqual(one.outputIds, first[0].outputIds);
  });

  test("greedy samples are equal, and the later ones reuse the prompt's KV", async () => {
    await engine.flushCache();
    const results = list(await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(8, { n: 3 }) }));
    assert.equal(results.length, 3);
    for (const r of results) assert.deepEqual(r.outputIds, textOnly.greedy_tokens.slice(0, 8));
    assert.equal(results[0].metaInfo.cachedTokens, 0, "the cache was flushed: the first sample prefills");
    const prompt = results[0].metaInfo.promptTokens;
    for (const r of results.slice(1)) {
      // Whole pages of the prompt, short of its last token which must be computed to be sampled from.
      assert.ok(r.metaInfo.cachedTokens > 0 && r.metaInfo.cachedTokens < prompt, `cachedTokens ${r.metaInfo.cachedTokens} of ${prompt}`);
    }
    assert.deepEqual(results.map((r) => r.metaInfo.id).map((id) => id.slice(-2)), ["_0", "_1", "_2"]);
  });

  test("a batch keeps each prompt's samples together (prompt i, sample j at i * n + j)", async () => {
    const results = await engine.generate({
      prompt: [textOnly.prompt, oneImage.prompt], imageData: [textOnly.imagePaths, oneImage.imagePaths],
      samplingParams: greedy(6, { n: 2 }), rid: "pair",
    });
    assert.equal(results.length, 4);
    assert.deepEqual(results.map((r) => r.metaInfo.id), ["pair_0_0", "pair_0_1", "pair_1_0", "pair_1_1"]);
    assert.deepEqual(results[0].outputIds, textOnly.greedy_tokens.slice(0, 6));
    assert.deepEqual(results[1].outputIds, textOnly.greedy_tokens.slice(0, 6));
    assert.deepEqual(results[2].outputIds, oneImage.greedy_tokens.slice(0, 6));
    assert.deepEqual(results[3].outputIds, oneImage.greedy_tokens.slice(0, 6));
  });

  test("streaming gives each sample its index and its own cumulative text", async () => {
    const chunks = await collect(engine.generateStream({ prompt: textOnly.prompt, samplingParams: sampled(3, 3) }));
    const blocking = list(await engine.generate({ prompt: textOnly.prompt, samplingParams: sampled(3, 3) }));
    for (let j = 0; j < 3; j++) {
      const mine = chunks.filter((c) => c.index === j);
      const last = mine.at(-1)!;
      assert.ok(last.metaInfo.finishReason, `sample ${j} ends with a finish reason`);
      assert.deepEqual(last.outputIds, blocking[j].outputIds);
      assert.equal(mine.map((c) => c.delta).join(""), last.text);
    }
  });

  test("a bad or mixed n fails with INVALID_ARGUMENT", async () => {
    await rejectsWith(engine.generate({ prompt: textOnly.prompt, samplingParams: { n: 0 } }), "INVALID_ARGUMENT", /n must be an integer of at least 1/);
    await rejectsWith(engine.generate({ prompt: textOnly.prompt, samplingParams: { n: 1.5 } }), "INVALID_ARGUMENT", /n must be an integer/);
    await rejectsWith(engine.generate({ prompt: [textOnly.prompt, textOnly.prompt], samplingParams: [{ n: 2 }, { n: 3 }] }),
      "INVALID_ARGUMENT", /parallel_sample_num should be the same/);
  });
});
