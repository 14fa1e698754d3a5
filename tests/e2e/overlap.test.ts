/**
 * The overlap scheduler: launching step n+1 before step n's tokens are read back changes nothing a user sees.
 * Mixed batches (images, sampling with seeds, penalties and minimum lengths that make the loop wait, stop strings,
 * requests of different lengths finishing in the middle of a running batch) give the same outputs with the overlap
 * on and off.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateRequest } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, casesByName, greedy } from "../helpers/engine-helpers.js";

const cases = casesByName(QWEN);
const { text_only: textOnly, one_image: oneImage, two_images: twoImages } = cases;

const batch: GenerateRequest = {
  prompt: [textOnly.prompt, oneImage.prompt, twoImages.prompt, textOnly.prompt, oneImage.prompt],
  imageData: [textOnly.imagePaths, oneImage.imagePaths, twoImages.imagePaths, textOnly.imagePaths, oneImage.imagePaths],
  samplingParams: [
    greedy(9),
    { temperature: 0.9, topP: 0.9, samplingSeed: 11, maxNewTokens: 14, ignoreEos: true },
    greedy(5),
    { temperature: 0.7, topK: 30, samplingSeed: 5, maxNewTokens: 20, ignoreEos: true, stop: ["a"] },
    greedy(16),
  ],
};

const penalized: GenerateRequest = {
  prompt: [textOnly.prompt, oneImage.prompt],
  imageData: [textOnly.imagePaths, oneImage.imagePaths],
  samplingParams: [greedy(12, { repetitionPenalty: 1.5, frequencyPenalty: 0.3 }), greedy(12, { minNewTokens: 4 })],
};

describe("overlap scheduling on and off give the same outputs", () => {
  const engines: Engine[] = [];
  before(async () => {
    for (const disableOverlapSchedule of [false, true]) {
      engines.push(await Engine.create({ modelPath: modelDir(QWEN), disableOverlapSchedule, disableRadixCache: true }));
    }
  });
  after(async () => {
    for (const engine of engines) await engine.shutdown();
  });

  for (const [name, request] of [["a mixed batch", batch], ["requests that need their tokens on the host", penalized]] as const) {
    test(name, async () => {
      const [overlapped, sequential] = await Promise.all(engines.map((e) => e.generate(request)));
      assert.ok(Array.isArray(overlapped) && Array.isArray(sequential));
      for (let i = 0; i < overlapped.length; i++) {
        assert.deepEqual(overlapped[i].outputIds, sequential[i].outputIds, `request ${i}`);
        assert.equal(overlapped[i].text, sequential[i].text, `request ${i}`);
        assert.deepEqual(overlapped[i].metaInfo.finishReason, sequential[i].metaInfo.finishReason, `request ${i}`);
      }
    });
  }
});
