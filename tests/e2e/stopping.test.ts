/**
 * How requests end, against a greedy run of the text_only case (40 tokens, no end of sequence in them): stop
 * strings (trimmed or kept), stop tokens, maxNewTokens, minNewTokens, and maxNewTokens 0. Follows SGLang: the token
 * that completes a stop condition stays in `outputIds`; the matched stop string or stop token is cut from the text
 * unless `noStopTrim`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateResult } from "../../src/core/request.js";
import type { SamplingParams } from "../../src/core/sampling-params.js";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, casesByName } from "../helpers/engine-helpers.js";

const { text_only: textOnly } = casesByName(QWEN);

describe("stop conditions", () => {
  let engine: Engine;
  /** The plain greedy run every case is cut from. */
  let base: GenerateResult;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN) });
    base = await engine.generate({ prompt: textOnly.prompt, samplingParams: { temperature: 0, maxNewTokens: 40 } });
  });
  after(() => engine.shutdown());

  const run = (samplingParams: SamplingParams) =>
    engine.generate({ prompt: textOnly.prompt, samplingParams: { temperature: 0, maxNewTokens: 40, ...samplingParams } });
  /** The text of the first `n` generated tokens. */
  const textOf = (n: number) => engine.tokenizer.decode(base.outputIds.slice(0, n));
  /** The number of tokens after which the text first contains `s`. */
  const tokensUntil = (s: string) => base.outputIds.findIndex((_, k) => textOf(k + 1).includes(s)) + 1;

  test("the base run ends by length and holds the reference's greedy tokens", () => {
    assert.deepEqual(base.metaInfo.finishReason, { type: "length", length: 40 });
    assert.deepEqual(base.outputIds.slice(0, 12), textOnly.greedy_tokens);
    assert.equal(base.text, textOf(40));
  });

  test("a stop string cuts the text before it; the ids run to the token that completed it", async () => {
    const stop = " Complexity";
    const at = base.text.indexOf(stop);
    assert.ok(at > 0 && base.text.indexOf(stop, at + 1) > at, "the stop string occurs twice in the base text");
    const out = await run({ stop });
    assert.deepEqual(out.metaInfo.finishReason, { type: "stop", matched: stop });
    assert.equal(out.text, base.text.slice(0, at));
    const n = tokensUntil(stop);
    assert.deepEqual(out.outputIds, base.outputIds.slice(0, n));
    assert.equal(out.metaInfo.completionTokens, n);
  });

  test("a stop string inside a token's text: the text is cut in the middle of that token", async () => {
    // "FIX" ends inside the token " FIXED".
    const stop = "FIX";
    const out = await run({ stop });
    assert.deepEqual(out.metaInfo.finishReason, { type: "stop", matched: stop });
    assert.equal(out.text, base.text.slice(0, base.text.indexOf(stop)));
    assert.deepEqual(out.outputIds, base.outputIds.slice(0, tokensUntil(stop)));
  });

  test("noStopTrim keeps the matched stop string", async () => {
    const stop = " Complexity";
    const out = await run({ stop: [stop], noStopTrim: true });
    assert.deepEqual(out.metaInfo.finishReason, { type: "stop", matched: stop });
    assert.equal(out.text, base.text.slice(0, base.text.indexOf(stop) + stop.length));
    assert.deepEqual(out.outputIds, base.outputIds.slice(0, tokensUntil(stop)));
  });

  test("a stop token stops at its first occurrence: in the ids, not in the text", async () => {
    const k = 6;
    const token = base.outputIds[k];
    assert.equal(base.outputIds.indexOf(token), k);
    const out = await run({ stopTokenIds: [token] });
    assert.deepEqual(out.metaInfo.finishReason, { type: "stop", matched: token });
    assert.deepEqual(out.outputIds, base.outputIds.slice(0, k + 1));
    assert.equal(out.metaInfo.completionTokens, k + 1);
    assert.equal(out.text, textOf(k));
  });

  test("noStopTrim keeps a stop token's text too (SGLang trims neither)", async () => {
    const k = 6;
    const token = base.outputIds[k];
    const out = await run({ stopTokenIds: [token], noStopTrim: true });
    assert.deepEqual(out.metaInfo.finishReason, { type: "stop", matched: token });
    assert.deepEqual(out.outputIds, base.outputIds.slice(0, k + 1));
    assert.equal(out.text, textOf(k + 1));
  });

  test("maxNewTokens ends the request with a length reason", async () => {
    const out = await run({ maxNewTokens: 5 });
    assert.deepEqual(out.metaInfo.finishReason, { type: "length", length: 5 });
    assert.deepEqual(out.outputIds, base.outputIds.slice(0, 5));
    assert.equal(out.text, textOf(5));
    assert.equal(out.metaInfo.completionTokens, 5);
    assert.equal(out.metaInfo.promptTokens, textOnly.n_prompt_tokens);
  });

  test("minNewTokens keeps a stop token from being sampled until that many tokens exist", async () => {
    // The token at step 6 occurs again at a later step of the base run.
    const k = base.outputIds.findIndex((t, i) => base.outputIds.indexOf(t, i + 1) > i);
    assert.ok(k >= 0 && k < 12, "some early token repeats");
    const token = base.outputIds[k];
    const minNewTokens = k + 2;
    const out = await run({ stopTokenIds: [token], minNewTokens });
    // Identical up to the step where the stop token was the greedy choice; there it is masked, as in SGLang.
    assert.deepEqual(out.outputIds.slice(0, k), base.outputIds.slice(0, k));
    assert.notEqual(out.outputIds[k], token);
    assert.ok(!out.outputIds.slice(0, minNewTokens).includes(token));
    assert.ok(out.outputIds.length > minNewTokens, `stopped after ${out.outputIds.length} tokens, before minNewTokens ${minNewTokens}`);
    const reason = out.metaInfo.finishReason;
    if (reason?.type === "stop") {
      assert.equal(reason.matched, token);
      assert.equal(out.outputIds.at(-1), token);
    } else assert.deepEqual(reason, { type: "length", length: 40 });
  });

  test("maxNewTokens 0 returns no tokens at once", async () => {
    const out = await run({ maxNewTokens: 0 });
    assert.deepEqual(out.outputIds, []);
    assert.equal(out.text, "");
    assert.deepEqual(out.metaInfo.finishReason, { type: "length", length: 0 });
    assert.equal(out.metaInfo.completionTokens, 0);
    assert.equal(out.metaInfo.promptTokens, textOnly.n_prompt_tokens);
    // The engine goes on.
    assert.deepEqual((await run({ maxNewTokens: 3 })).outputIds, base.outputIds.slice(0, 3));
  });
});
