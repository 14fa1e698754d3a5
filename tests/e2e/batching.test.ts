/**
 * Continuous batching through the Engine: a request gives the same greedy tokens whether it runs alone, in a batch
 * with requests of other image counts, joins a batch already running, or is retracted and recomputed because the
 * KV cache ran short.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateResult } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { loadImage } from "../../src/multimodal/image-input.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, assertSameOutput, casesByName, collect, greedy } from "../helpers/engine-helpers.js";

const cases = casesByName(QWEN);
const { text_only: textOnly, one_image: oneImage, two_images: twoImages } = cases;

describe("batching (prefix cache off, so every request is computed in full)", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN), disableRadixCache: true });
  });
  after(() => engine.shutdown());

  const alone = new Map<string, GenerateResult>();
  /** The result of a case run by itself, computed once. */
  async function solo(name: string, maxNewTokens = 12): Promise<GenerateResult> {
    const key = `${name}/${maxNewTokens}`;
    if (!alone.has(key)) {
      const c = cases[name];
      alone.set(key, await engine.generate({ prompt: c.prompt, imageData: c.imagePaths, samplingParams: greedy(maxNewTokens) }));
    }
    return alone.get(key)!;
  }

  test("a batch with 2, 0 and 1 images per prompt gives each request its solo result, in input order", async () => {
    const order = [twoImages, textOnly, oneImage];
    const results = await engine.generate({
      prompt: order.map((c) => c.prompt),
      imageData: order.map((c) => c.imagePaths),
      samplingParams: greedy(12),
      rid: ["two", "none", "one"],
    });
    assert.equal(results.length, 3);
    assert.deepEqual(results.map((r) => r.metaInfo.id), ["two", "none", "one"]);
    for (const [i, c] of order.entries()) {
      assert.equal(results[i].metaInfo.promptTokens, c.n_prompt_tokens, c.name);
      assertSameOutput(results[i], await solo(c.name), c.name);
    }
  });

  test("requests that share one image (the same path, the same decoded pixels) each give their solo result", async () => {
    const path = oneImage.imagePaths[0];
    const pixels = { ...(await loadImage(path)), channels: 3 as const };
    // The same string and the same object in several requests: processed once, their bytes shared with the core.
    const results = await engine.generate({
      prompt: [oneImage.prompt, oneImage.prompt, twoImages.prompt, oneImage.prompt, oneImage.prompt],
      imageData: [[path], [path], twoImages.imagePaths, [pixels], [pixels]],
      samplingParams: greedy(12),
    });
    for (const i of [0, 1, 3, 4]) assertSameOutput(results[i], await solo("one_image"), `request ${i}`);
    assertSameOutput(results[2], await solo("two_images"), "two_images");
  });

  test("SGLang's image spreading: null for a text prompt, one bare image per prompt", async () => {
    const results = await engine.generate({
      prompt: [oneImage.prompt, textOnly.prompt],
      imageData: [oneImage.imagePaths[0], null],
      samplingParams: [greedy(12), greedy(12)],
    });
    assertSameOutput(results[0], await solo("one_image"), "one_image");
    assertSameOutput(results[1], await solo("text_only"), "text_only");
  });

  test("requests that join while a long request decodes finish with their solo tokens, and so does it", async () => {
    const stream = engine.generateStream({ prompt: twoImages.prompt, imageData: twoImages.imagePaths, samplingParams: greedy(40) });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    // The long request has produced a token and is not finished: the others join a running batch.
    assert.equal(first.value.metaInfo.finishReason, null);
    const joiners = [
      engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(12) }),
      engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(12) }),
      engine.generate({ prompt: [textOnly.prompt, oneImage.prompt], imageData: [[], oneImage.imagePaths], samplingParams: greedy(12) }),
    ] as const;
    let last = first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) last = next.value;
    const [text, image, pair] = await Promise.all(joiners);

    assert.deepEqual(last.metaInfo.finishReason, { type: "length", length: 40 });
    const longAlone = await solo("two_images", 40);
    assert.deepEqual(last.outputIds, longAlone.outputIds);
    assert.equal(last.text, longAlone.text);
    assertSameOutput(text, await solo("text_only"), "joining text request");
    assertSameOutput(image, await solo("one_image"), "joining image request");
    assertSameOutput(pair[0], await solo("text_only"), "joining batch, text");
    assertSameOutput(pair[1], await solo("one_image"), "joining batch, image");
  });

  test("with the prefix cache off, a repeated request reports no cached tokens", async () => {
    const again = await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(12) });
    assertSameOutput(again, await solo("one_image"), "repeated one_image");
    assert.equal(again.metaInfo.cachedTokens, 0);
    assert.equal((await solo("one_image")).metaInfo.cachedTokens, 0);
  });
});

describe("retraction: a KV cache of 456 tokens, too small for what is admitted (prefix cache off)", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN), maxTotalTokens: 456, pageSize: 4, disableRadixCache: true });
  });
  after(() => engine.shutdown());

  async function solos(prompts: string[], images: string[][], maxNewTokens: number): Promise<GenerateResult[]> {
    const out: GenerateResult[] = [];
    for (const [i, prompt] of prompts.entries()) out.push(await engine.generate({ prompt, imageData: images[i], samplingParams: greedy(maxNewTokens) }));
    return out;
  }

  function checkRetracted(results: GenerateResult[], expected: GenerateResult[], maxNewTokens: number): void {
    assert.equal(results.length, expected.length);
    for (const [i, r] of results.entries()) {
      assertSameOutput(r, expected[i], `request ${i}`);
      assert.deepEqual(r.metaInfo.finishReason, { type: "length", length: maxNewTokens });
      assert.equal(r.metaInfo.completionTokens, maxNewTokens);
    }
    const retractions = results.map((r) => r.metaInfo.numRetractions);
    assert.ok(retractions.some((n) => n > 0), `expected a retraction, got ${retractions.join(",")}`);
    // The oldest request always progresses, and the count is per request.
    assert.ok(retractions.some((n) => n === 0), `every request was retracted: ${retractions.join(",")}`);
  }

  test("16 concurrent text requests, streamed: those retracted are recomputed and give their solo tokens", async () => {
    // ~30 prompt + 24 new tokens each: admission reserves 70% of the new tokens, so the running ones outgrow 456.
    const prompts = Array.from({ length: 16 }, (_, i) => textOnly.prompt.replace("a cat", `cat number ${i}`));
    const images = prompts.map(() => []);
    const expected = await solos(prompts, images, 24);
    // Streamed, so that the chunks of a retracted request are checked too: no token is sent twice.
    const chunks = await collect(engine.generateStream({ prompt: prompts, imageData: images, samplingParams: greedy(24) }));
    const results: GenerateResult[] = prompts.map((_, i) => {
      const own = chunks.filter((c) => c.index === i);
      const last = own[own.length - 1];
      assert.equal(own.map((c) => c.delta).join(""), last.text, `request ${i}: the deltas do not add up to the text`);
      assert.deepEqual(own.map((c) => c.outputIds.length), Array.from({ length: 24 }, (_, k) => k + 1), `request ${i}: one chunk per token`);
      return { text: last.text, outputIds: last.outputIds, metaInfo: last.metaInfo };
    });
    checkRetracted(results, expected, 24);
  });

  test("two image requests of 64 new tokens each: the one retracted re-encodes its image and gives its solo tokens", async () => {
    // 170 + 176 prompt tokens + 2 x 64 new ones = 474 > 456, while admission expects 346 + 0.7 x 128 = 436.
    const images = [[oneImage.imagePaths[0]], [twoImages.imagePaths[0]]];
    const prompts = [oneImage.prompt, oneImage.prompt];
    const expected = await solos(prompts, images, 64);
    checkRetracted(await engine.generate({ prompt: prompts, imageData: images, samplingParams: greedy(64) }), expected, 64);
  });
});
