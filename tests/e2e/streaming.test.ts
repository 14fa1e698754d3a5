/**
 * `generateStream`: the deltas of a request add up to the text `generate` returns for it, chunk by chunk the text and
 * ids so far are consistent, the last chunk carries the finish reason, and text that belongs to a stop string is
 * never streamed out.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateRequest, GenerateResult, StreamChunk } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, casesByName, collect, greedy } from "../helpers/engine-helpers.js";

const { text_only: textOnly, one_image: oneImage, two_images: twoImages } = casesByName(QWEN);

/** Checks one request's chunks (in order) against its non-streamed result. */
function checkChunks(chunks: StreamChunk[], expected: GenerateResult, index: number): void {
  assert.ok(chunks.length > 0, `no chunks for index ${index}`);
  let text = "";
  for (const [i, chunk] of chunks.entries()) {
    assert.equal(chunk.index, index);
    text += chunk.delta;
    assert.equal(chunk.text, text, `chunk ${i}: text is not the deltas so far`);
    assert.ok(expected.text.startsWith(chunk.text), `chunk ${i} streamed text that is not in the final text: ${JSON.stringify(chunk.text)}`);
    assert.deepEqual(chunk.outputIds, expected.outputIds.slice(0, chunk.outputIds.length), `chunk ${i}: ids are not a prefix`);
    // Most chunks come from the core's plain outputs (ids alone), rebuilt on the caller's side: their counts hold too.
    assert.equal(chunk.metaInfo.completionTokens, chunk.outputIds.length, `chunk ${i}: completionTokens`);
    assert.equal(chunk.metaInfo.promptTokens, expected.metaInfo.promptTokens, `chunk ${i}: promptTokens`);
    assert.equal(chunk.metaInfo.cachedTokens, chunks[chunks.length - 1].metaInfo.cachedTokens, `chunk ${i}: cachedTokens`);
    const isLast = i === chunks.length - 1;
    assert.equal(chunk.metaInfo.finishReason === null, !isLast, `chunk ${i} of ${chunks.length}: finishReason ${JSON.stringify(chunk.metaInfo.finishReason)}`);
  }
  const last = chunks[chunks.length - 1];
  assert.equal(text, expected.text);
  assert.deepEqual(last.outputIds, expected.outputIds);
  assert.deepEqual(last.metaInfo.finishReason, expected.metaInfo.finishReason);
  assert.equal(last.metaInfo.completionTokens, expected.outputIds.length);
  assert.equal(last.metaInfo.promptTokens, expected.metaInfo.promptTokens);
  assert.equal(last.metaInfo.id, chunks[0].metaInfo.id);
}

describe("streaming", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN) });
  });
  after(() => engine.shutdown());

  async function streamAndGenerate(request: GenerateRequest): Promise<{ chunks: StreamChunk[]; result: GenerateResult }> {
    const chunks = await collect(engine.generateStream(request));
    const result = (await engine.generate(request)) as GenerateResult;
    return { chunks, result };
  }

  test("a text request: the deltas reassemble to generate's text, one chunk per token", async () => {
    const { chunks, result } = await streamAndGenerate({ prompt: textOnly.prompt, samplingParams: greedy(40) });
    checkChunks(chunks, result, 0);
    assert.deepEqual(result.metaInfo.finishReason, { type: "length", length: 40 });
    // Every token is streamed as it comes (SGLang's stream_interval 1).
    assert.deepEqual(chunks.map((c) => c.outputIds.length), Array.from({ length: 40 }, (_, i) => i + 1));
  });

  test("an image request whose text holds split multi-byte characters reassembles exactly", async () => {
    // The reference text of this case contains U+FFFD where a token ends inside a character.
    assert.ok(oneImage.greedy_text.includes("\ufffd"));
    const { chunks, result } = await streamAndGenerate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(24) });
    checkChunks(chunks, result, 0);
    assert.ok(result.text.startsWith(oneImage.greedy_text.slice(0, 8)), result.text);
  });

  test("a batch: chunks carry their request's index, and each request reassembles to its own text", async () => {
    const batch = [textOnly, twoImages, oneImage];
    const request: GenerateRequest = {
      prompt: batch.map((c) => c.prompt),
      imageData: batch.map((c) => c.imagePaths),
      samplingParams: [greedy(20), greedy(12), greedy(16)],
    };
    const chunks = await collect(engine.generateStream(request));
    const results = (await engine.generate(request)) as GenerateResult[];
    assert.deepEqual([...new Set(chunks.map((c) => c.index))].sort(), [0, 1, 2]);
    for (const [i, result] of results.entries()) checkChunks(chunks.filter((c) => c.index === i), result, i);
    // Distinct requests, distinct ids.
    assert.equal(new Set(chunks.map((c) => c.metaInfo.id)).size, 3);
  });

  test("a stop string is never streamed out, not even its first characters", async () => {
    const full = (await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(40) })) as GenerateResult;
    // A stop string that spans two tokens: the end of the third token's text and the start of the fourth's.
    const tokenTexts = full.outputIds.map((_, k) => engine.tokenizer.decode(full.outputIds.slice(0, k + 1)));
    const stop = tokenTexts[3].slice(tokenTexts[2].length - 2, tokenTexts[2].length + 3);
    assert.equal(stop.length, 5);
    const cut = full.text.indexOf(stop);
    assert.equal(cut, tokenTexts[2].length - 2, `the stop string ${JSON.stringify(stop)} must first occur across tokens 2 and 3`);

    const request: GenerateRequest = { prompt: textOnly.prompt, samplingParams: { temperature: 0, maxNewTokens: 40, stop } };
    const { chunks, result } = await streamAndGenerate(request);
    assert.equal(result.text, full.text.slice(0, cut));
    assert.deepEqual(result.metaInfo.finishReason, { type: "stop", matched: stop });
    checkChunks(chunks, result, 0);
    for (const chunk of chunks) assert.ok(!chunk.text.includes(stop[0], cut), `streamed the start of the stop string: ${JSON.stringify(chunk.text)}`);
  });

  test("the same holds with several stop strings, the earliest in the text winning", async () => {
    const full = (await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(40) })) as GenerateResult;
    const words = full.text.split(" ").filter((w) => w.length >= 3);
    // Listed latest first: the match is the earliest in the text, not the first in the list.
    const stop = ["never in this text", words[3], words[2]];
    const request: GenerateRequest = { prompt: textOnly.prompt, samplingParams: { temperature: 0, maxNewTokens: 40, stop } };
    const { chunks, result } = await streamAndGenerate(request);
    assert.deepEqual(result.metaInfo.finishReason, { type: "stop", matched: words[2] });
    assert.equal(result.text, full.text.slice(0, full.text.indexOf(words[2])));
    checkChunks(chunks, result, 0);
  });

  test("a reader that stops early ends its request, and the engine goes on", async () => {
    let seen = 0;
    for await (const chunk of engine.generateStream({ prompt: textOnly.prompt, samplingParams: greedy(100) })) {
      seen = chunk.outputIds.length;
      if (seen >= 2) break;
    }
    assert.ok(seen >= 2);
    const next = (await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(12) })) as GenerateResult;
    assert.deepEqual(next.outputIds, textOnly.greedy_tokens);
  });
});
