/**
 * Bad requests through the Engine: each fails alone with a typed IrisError (or, inside a batch, an abort result
 * carrying the error's code) and the engine keeps serving. Also seeded sampling, the context limit and shutdown.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { hostTensor, toNumbers } from "../../src/core/host-tensor.js";
import type { GenerateResult } from "../../src/core/request.js";
import type { SamplingParams } from "../../src/core/sampling-params.js";
import { Engine } from "../../src/engine/engine.js";
import { loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import {
  QWEN, assertFailedInBatch, assertSameOutput, casesByName, collect, greedy, rejectsWith, settlesWithin,
} from "../helpers/engine-helpers.js";

const { text_only: textOnly, one_image: oneImage, two_images: twoImages } = casesByName(QWEN);
const MISSING = "/nonexistent/iris-test/no-such-image.png";
/** A PNG signature followed by garbage. */
const CORRUPT_PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)]);

describe("errors through the Engine", () => {
  let engine: Engine;
  /** Greedy 12 tokens of text_only: the request every error test checks the engine still serves. */
  let healthy: GenerateResult;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN) });
    healthy = await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(12) });
    assert.deepEqual(healthy.outputIds, textOnly.greedy_tokens);
  });
  after(() => engine.shutdown());

  async function stillServes(): Promise<void> {
    const out = await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(12) });
    assert.deepEqual(out.outputIds, healthy.outputIds);
    assert.equal(out.text, healthy.text);
  }

  const badParams: [SamplingParams, RegExp][] = [
    [{ temperature: -0.5 }, /temperature/],
    [{ temperature: Number.POSITIVE_INFINITY }, /temperature/],
    [{ topP: 0 }, /topP/],
    [{ topK: 0 }, /topK/],
    [{ minP: 1.5 }, /minP/],
    [{ frequencyPenalty: 2.5 }, /frequencyPenalty/],
    [{ presencePenalty: -3 }, /presencePenalty/],
    [{ repetitionPenalty: 0 }, /repetitionPenalty/],
    [{ maxNewTokens: -1 }, /maxNewTokens/],
    [{ maxNewTokens: 2.5 }, /maxNewTokens/],
    [{ maxNewTokens: 4, minNewTokens: 5 }, /minNewTokens/],
    [{ stop: [""] }, /stop/],
    [{ stopTokenIds: [1 << 30] }, /stopTokenIds/],
    [{ samplingSeed: 1.5 }, /samplingSeed/],
    [{ max_new_tokens: 8 } as unknown as SamplingParams, /max_new_tokens.*maxNewTokens/],
    [{ temperature: "0" } as unknown as SamplingParams, /temperature/],
  ];

  test("each bad sampling parameter rejects with INVALID_ARGUMENT naming it, and the engine goes on", async () => {
    for (const [params, message] of badParams) {
      await rejectsWith(engine.generate({ prompt: textOnly.prompt, samplingParams: params }), "INVALID_ARGUMENT", message);
    }
    await stillServes();
  });

  test("a bad sampling parameter inside a batch fails that request alone", async () => {
    const results = await engine.generate({
      prompt: [textOnly.prompt, textOnly.prompt, oneImage.prompt],
      imageData: [[], [], oneImage.imagePaths],
      samplingParams: [greedy(12), { topP: 7 }, greedy(12)],
    });
    assertSameOutput(results[0], healthy, "good request before the bad one");
    assertFailedInBatch(results[1], "INVALID_ARGUMENT");
    assert.equal(results[2].metaInfo.promptTokens, oneImage.n_prompt_tokens);
    assert.deepEqual(results[2].metaInfo.finishReason, { type: "length", length: 12 });
  });

  test("malformed requests reject with INVALID_ARGUMENT", async () => {
    await rejectsWith(engine.generate({} as never), "INVALID_ARGUMENT");
    await rejectsWith(engine.generate({ prompt: textOnly.prompt, inputIds: [1, 2] } as never), "INVALID_ARGUMENT");
    await rejectsWith(engine.generate({ inputIds: [] }), "INVALID_ARGUMENT");
    await rejectsWith(engine.generate({ prompt: "" }), "INVALID_ARGUMENT");
    await rejectsWith(engine.generate({ inputIds: [1, 1 << 30] }), "INVALID_ARGUMENT", /vocabulary/);
    await rejectsWith(engine.generate({ prompt: [textOnly.prompt, textOnly.prompt], imageData: [[], [], []] }), "INVALID_ARGUMENT");
    await rejectsWith(engine.generate({ prompt: [textOnly.prompt, textOnly.prompt], rid: ["same", "same"] }), "INVALID_ARGUMENT", /Duplicate/);
    await stillServes();
  });

  test("seeded sampling: the same seed gives the same tokens, alone or in a batch; another seed differs", async () => {
    const seeded = (seed: number): SamplingParams => ({ temperature: 1, samplingSeed: seed, maxNewTokens: 16, ignoreEos: true });
    const first = await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: seeded(42) });
    const again = await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: seeded(42) });
    assert.deepEqual(again.outputIds, first.outputIds);
    const inBatch = await engine.generate({
      prompt: [textOnly.prompt, oneImage.prompt, textOnly.prompt],
      imageData: [[], oneImage.imagePaths, []],
      samplingParams: [seeded(7), seeded(42), greedy(16)],
    });
    assert.deepEqual(inBatch[1].outputIds, first.outputIds);
    const other = await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: seeded(43) });
    assert.notDeepEqual(other.outputIds, first.outputIds);
    // Sampling at temperature 1 is not the greedy path.
    const greedyOut = await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(16) });
    assert.notDeepEqual(first.outputIds, greedyOut.outputIds);
  });

  test("images in more than one form in one request: MIXED_IMAGE_FORMATS", async () => {
    const ref = loadCaseTensors(QWEN, "two_images");
    const processed = { format: "processor_output" as const, pixel_values: ref.pixel_values, image_grid_thw: ref.image_grid_thw };
    await rejectsWith(engine.generate({ prompt: twoImages.prompt, imageData: [twoImages.imagePaths[0], processed] }), "MIXED_IMAGE_FORMATS");
    await stillServes();
  });

  test("placeholders and images that do not match: IMAGE_TOKEN_MISMATCH", async () => {
    const [a, b] = twoImages.imagePaths;
    const mismatch = async (request: Parameters<Engine["generate"]>[0]) => {
      await rejectsWith(engine.generate({ ...request, samplingParams: greedy(4) }), "IMAGE_TOKEN_MISMATCH");
    };
    await mismatch({ prompt: twoImages.prompt, imageData: [a] }); // more placeholders than images
    await mismatch({ prompt: oneImage.prompt, imageData: [a, b] }); // fewer placeholders than images
    await mismatch({ prompt: textOnly.prompt, imageData: [a] }); // no placeholder
    await mismatch({ prompt: oneImage.prompt }); // a placeholder, no image
    // Expanded ids from the reference processor for two images, with one image.
    await mismatch({ inputIds: toNumbers(loadCaseTensors(QWEN, "two_images").input_ids), imageData: [a] });
    await stillServes();
  });

  test("precomputed embeddings with the wrong number of rows: IMAGE_TOKEN_MISMATCH", async () => {
    const ref = loadCaseTensors(QWEN, "one_image");
    const feature = ref.image_embeds; // [144, 64]
    const [rows, hidden] = feature.shape;
    const short = hostTensor("F32", [rows - 1, hidden], (feature.data as Float32Array).slice(0, (rows - 1) * hidden));
    const inputIds = toNumbers(ref.input_ids);
    await rejectsWith(engine.generate({
      inputIds,
      imageData: [{ format: "precomputed_embedding", feature: short, image_grid_thw: ref.image_grid_thw }],
    }), "IMAGE_TOKEN_MISMATCH");
    // The right rows for a grid that needs other rows.
    await rejectsWith(engine.generate({
      inputIds,
      imageData: [{ format: "precomputed_embedding", feature, image_grid_thw: [[1, 24, 20]] }],
    }), "IMAGE_TOKEN_MISMATCH");
    // The correct item works.
    const good = await engine.generate({
      inputIds,
      imageData: [{ format: "precomputed_embedding", feature, image_grid_thw: ref.image_grid_thw }],
      samplingParams: greedy(4),
    });
    assert.equal(good.metaInfo.promptTokens, oneImage.n_prompt_tokens);
    await stillServes();
  });

  test("a bad image fails alone: a single request rejects with IMAGE_LOAD", async () => {
    await rejectsWith(engine.generate({ prompt: oneImage.prompt, imageData: [MISSING] }), "IMAGE_LOAD", /not found/);
    await rejectsWith(engine.generate({ prompt: oneImage.prompt, imageData: [CORRUPT_PNG] }), "IMAGE_LOAD");
    await rejectsWith(engine.encodeImages([MISSING]), "IMAGE_LOAD");
    await stillServes();
  });

  test("a bad image inside a batch: that entry aborts with IMAGE_LOAD, the others complete normally", async () => {
    const astronaut = oneImage.imagePaths[0];
    const results = await engine.generate({
      prompt: [oneImage.prompt, textOnly.prompt, oneImage.prompt, oneImage.prompt],
      imageData: [[MISSING], [], [CORRUPT_PNG], [new Uint8Array(readFileSync(astronaut))]],
      samplingParams: greedy(12),
      rid: ["missing", "text", "corrupt", "good"],
    });
    assert.equal(results.length, 4);
    assertFailedInBatch(results[0], "IMAGE_LOAD");
    assertFailedInBatch(results[2], "IMAGE_LOAD");
    assert.deepEqual(results.map((r) => r.metaInfo.id), ["missing", "text", "corrupt", "good"]);
    assertSameOutput(results[1], healthy, "text request in the batch");
    const alone = await engine.generate({ prompt: oneImage.prompt, imageData: [astronaut], samplingParams: greedy(12) });
    assertSameOutput(results[3], alone, "good image request in the batch");
    await stillServes();
  });

  test("a request reusing the id of a running request is refused; the running one goes on", async () => {
    const expected = await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(60) });
    const running = engine.generateStream({ prompt: textOnly.prompt, samplingParams: greedy(60), rid: "busy-id" });
    const iterator = running[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    assert.equal(first.value.metaInfo.finishReason, null);
    // SGLang's TokenizerManager: "Duplicate request ID detected" for the new request only.
    await rejectsWith(engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(4), rid: "busy-id" }), "INVALID_ARGUMENT");
    const rest = (async () => {
      let last = first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) last = next.value;
      return last;
    })();
    const last = await settlesWithin(rest, 10_000, "the running request never finished after its id was reused");
    assert.deepEqual(last.metaInfo.finishReason, { type: "length", length: 60 });
    assert.deepEqual(last.outputIds, expected.outputIds);
    // Once it finished, the id is free again.
    const reused = await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(12), rid: "busy-id" });
    assert.deepEqual(reused.outputIds, healthy.outputIds);
  });

  test("a stream whose request is bad ends with an abort chunk carrying the code", async () => {
    const chunks = await collect(engine.generateStream({ prompt: oneImage.prompt, imageData: [MISSING] }));
    const reason = chunks.at(-1)?.metaInfo.finishReason;
    assert.ok(reason?.type === "abort" && reason.code === "IMAGE_LOAD", JSON.stringify(reason));
    await stillServes();
  });

  test("after shutdown: a running request fails with ENGINE_SHUTDOWN, and so does every later call", async () => {
    const running = engine.generateStream({ prompt: textOnly.prompt, samplingParams: greedy(400) });
    const iterator = running[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.value?.metaInfo.finishReason, null);
    await engine.shutdown();
    let last = first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) last = next.value;
    const reason = last?.metaInfo.finishReason;
    assert.ok(reason?.type === "abort" && reason.code === "ENGINE_SHUTDOWN", JSON.stringify(reason));
    assert.ok((last?.outputIds.length ?? 0) < 400);

    await rejectsWith(engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(4) }), "ENGINE_SHUTDOWN");
    await rejectsWith(engine.encodeImages(oneImage.imagePaths), "ENGINE_SHUTDOWN");
    const batch = await engine.generate({ prompt: [textOnly.prompt], samplingParams: greedy(4) });
    assertFailedInBatch(batch[0], "ENGINE_SHUTDOWN");
    // Shutting down twice is harmless.
    await engine.shutdown();
  });
});

describe("the context limit (contextLength 64)", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN), contextLength: 64 });
  });
  after(() => engine.shutdown());

  test("a prompt longer than the context: CONTEXT_TOO_LONG", async () => {
    await rejectsWith(engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(4) }), "CONTEXT_TOO_LONG", /170 tokens/);
    await rejectsWith(engine.generate({ inputIds: Array.from({ length: 64 }, () => 11), samplingParams: greedy(1) }), "CONTEXT_TOO_LONG");
  });

  test("a prompt that fits but whose maxNewTokens does not: CONTEXT_TOO_LONG", async () => {
    await rejectsWith(engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(40) }), "CONTEXT_TOO_LONG", /27 tokens/);
    // SGLang's default maxNewTokens (128) does not fit either.
    await rejectsWith(engine.generate({ prompt: textOnly.prompt }), "CONTEXT_TOO_LONG");
  });

  test("in a batch the long request fails alone, and a request that fits runs with the reference tokens", async () => {
    const results = await engine.generate({
      prompt: [oneImage.prompt, textOnly.prompt],
      imageData: [oneImage.imagePaths, []],
      samplingParams: greedy(12),
    });
    assertFailedInBatch(results[0], "CONTEXT_TOO_LONG");
    assert.deepEqual(results[1].outputIds, textOnly.greedy_tokens);
    assert.equal(results[1].metaInfo.promptTokens, textOnly.n_prompt_tokens);
  });
});
