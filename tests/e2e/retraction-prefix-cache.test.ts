/**
 * Retraction with the prefix cache on (issue 10's "correct under load"): when the KV cache runs short, a retracted
 * image request resumes (its prompt may come back from the radix tree) and still gives its unconstrained greedy
 * tokens. tests/e2e/batching.test.ts covers the same with the prefix cache off.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, assertSameOutput, casesByName, greedy } from "../helpers/engine-helpers.js";

const { one_image: oneImage, two_images: twoImages } = casesByName(QWEN);

describe("retraction with the prefix cache on: a KV cache of 456 tokens", () => {
  let small: Engine, roomy: Engine;
  before(async () => {
    [small, roomy] = await Promise.all([
      Engine.create({ modelPath: modelDir(QWEN), maxTotalTokens: 456, pageSize: 4 }),
      Engine.create({ modelPath: modelDir(QWEN), pageSize: 4 }),
    ]);
  });
  after(() => Promise.all([small.shutdown(), roomy.shutdown()]));

  test("two image requests of 64 new tokens: one is retracted and resumes with the tokens of an unconstrained run", async () => {
    // 170 + 176 prompt tokens + 2 x 64 new ones = 474 > 456.
    const request = { prompt: [oneImage.prompt, oneImage.prompt], imageData: [[oneImage.imagePaths[0]], [twoImages.imagePaths[0]]], samplingParams: greedy(64) };
    const expected = await roomy.generate(request);
    const results = await small.generate(request);
    results.forEach((r, i) => {
      assertSameOutput(r, expected[i], `request ${i}`);
      assert.equal(r.metaInfo.completionTokens, 64);
    });
    const retractions = results.map((r) => r.metaInfo.numRetractions);
    assert.ok(retractions.some((n) => n > 0), `expected a retraction, got ${retractions.join(",")}`);
    assert.ok(expected.every((r) => r.metaInfo.numRetractions === 0), "the unconstrained run retracts nothing");
  });
});
