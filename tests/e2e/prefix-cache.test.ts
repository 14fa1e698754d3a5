/**
 * Prefix (radix) caching of image prompts: a repeated prompt reuses its KV entries, images included, keyed by their
 * content; another image in the same text shares only the text before the image. (The prefix cache turned off is
 * checked in batching.test.ts.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, QWEN_IMAGE_TOKEN_ID, assertSameOutput, casesByName, greedy } from "../helpers/engine-helpers.js";

const { one_image: oneImage, two_images: twoImages } = casesByName(QWEN);

describe("prefix cache", () => {
  let engine: Engine;
  /** Index of the first image token in the one_image prompt: the text before it is shared by any image. */
  let imageStart: number;
  /** Index just past the image's tokens in the expanded prompt. */
  let imageEnd: number;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN), pageSize: 4 });
    const ids = engine.tokenizer.encode(oneImage.prompt);
    imageStart = ids.indexOf(QWEN_IMAGE_TOKEN_ID);
    const expandedImageTokens = oneImage.n_prompt_tokens - ids.length + 1;
    imageEnd = imageStart + expandedImageTokens;
    assert.ok(imageStart > 0 && imageEnd < oneImage.n_prompt_tokens);
  });
  after(() => engine.shutdown());

  const run = (image: string | Uint8Array) =>
    engine.generate({ prompt: oneImage.prompt, imageData: [image], samplingParams: greedy(12) });

  test("the same image prompt twice: the second reuses the prompt past the image, with the same tokens", async () => {
    const first = await run(oneImage.imagePaths[0]);
    const second = await run(oneImage.imagePaths[0]);
    assert.equal(first.metaInfo.cachedTokens, 0);
    assert.ok(second.metaInfo.cachedTokens >= imageEnd, `cached ${second.metaInfo.cachedTokens}, the image ends at ${imageEnd}`);
    assert.ok(second.metaInfo.cachedTokens < oneImage.n_prompt_tokens);
    assertSameOutput(second, first, "cached repeat");
  });

  test("the cache key is the image's content: the same image as bytes hits the cache", async () => {
    const first = await run(oneImage.imagePaths[0]);
    const asBytes = await run(new Uint8Array(readFileSync(oneImage.imagePaths[0])));
    assert.ok(asBytes.metaInfo.cachedTokens >= imageEnd, `cached ${asBytes.metaInfo.cachedTokens}`);
    assertSameOutput(asBytes, first, "same image as bytes");
  });

  test("the same text with another image shares only the text before the image", async () => {
    const astronaut = await run(oneImage.imagePaths[0]);
    const chelsea = await run(twoImages.imagePaths[0]);
    assert.ok(chelsea.metaInfo.cachedTokens > 0, "the system prompt before the image is shared");
    assert.ok(chelsea.metaInfo.cachedTokens <= imageStart, `cached ${chelsea.metaInfo.cachedTokens}, the image starts at ${imageStart}`);
    // A different image is computed afresh: with these random weights it leads elsewhere.
    assert.notDeepEqual(chelsea.outputIds, astronaut.outputIds);
    // And computing it did not disturb the cached astronaut prompt.
    const again = await run(oneImage.imagePaths[0]);
    assert.ok(again.metaInfo.cachedTokens >= imageEnd);
    assertSameOutput(again, astronaut, "astronaut after chelsea");
  });

  test("two images: the same pair hits the cache; the pair swapped shares nothing past the first image's start", async () => {
    const pair = await engine.generate({ prompt: twoImages.prompt, imageData: twoImages.imagePaths, samplingParams: greedy(12) });
    const repeat = await engine.generate({ prompt: twoImages.prompt, imageData: twoImages.imagePaths, samplingParams: greedy(12) });
    assert.ok(repeat.metaInfo.cachedTokens > twoImages.n_prompt_tokens - 20, `cached ${repeat.metaInfo.cachedTokens}`);
    assertSameOutput(repeat, pair, "repeated pair");
    const swapped = await engine.generate({ prompt: twoImages.prompt, imageData: [...twoImages.imagePaths].reverse(), samplingParams: greedy(12) });
    assert.ok(swapped.metaInfo.cachedTokens <= imageStart, `cached ${swapped.metaInfo.cachedTokens}`);
    assert.equal(swapped.metaInfo.promptTokens, pair.metaInfo.promptTokens);
  });
});
