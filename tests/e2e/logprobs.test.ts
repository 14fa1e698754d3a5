/**
 * Logprobs (SGLang's return_logprob, top_logprobs_num, logprob_start_len, token_ids_logprob): the first output
 * logprobs equal the log-softmax of each fixture case's reference `first_logits` (at the request's temperature
 * when it samples); input logprobs cover the prompt from logprobStartLen (null at position 0) and agree with the
 * output logprob of the same position computed as the last row of a shorter prompt, even when the prefix cache
 * holds the prompt; shapes follow SGLang's tuples; bad fields fail with INVALID_ARGUMENT.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateResult } from "../../src/core/request.js";
import { toNumbers } from "../../src/core/host-tensor.js";
import { Engine } from "../../src/engine/engine.js";
import { loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { floats } from "../helpers/numerics.js";
import { QWEN, casesByName, greedy, rejectsWith } from "../helpers/engine-helpers.js";

const cases = casesByName(QWEN);
/** The tiny model's logits match the reference to ~1e-4 relative; logprobs to this absolute error. */
const TOLERANCE = 2e-3;

function logSoftmax(logits: Float32Array, temperature = 1): Float64Array {
  const scaled = Float64Array.from(logits, (x) => x / temperature);
  const max = scaled.reduce((m, x) => Math.max(m, x), -Infinity);
  const logSum = max + Math.log(scaled.reduce((s, x) => s + Math.exp(x - max), 0));
  return scaled.map((x) => x - logSum);
}

function topIds(values: Float64Array, k: number): number[] {
  return [...values.keys()].sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
}

describe("logprobs", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN) });
  });
  after(async () => engine?.shutdown());

  for (const c of Object.values(cases)) {
    test(`${c.name}: the first output logprobs are the log-softmax of the reference first_logits`, async () => {
      const reference = logSoftmax(floats(loadCaseTensors(QWEN, c.name).first_logits));
      const asked = [0, 13, c.greedy_tokens[0], 151643];
      const r = await engine.generate({
        prompt: c.prompt, imageData: c.imagePaths, samplingParams: greedy(4), returnLogprob: true, topLogprobsNum: 5, tokenIdsLogprob: asked,
      });
      const meta = r.metaInfo;
      assert.deepEqual(meta.inputTokenLogprobs, [], "logprobStartLen -1: no input logprobs");
      assert.equal(meta.outputTokenLogprobs!.length, 4);
      assert.deepEqual(meta.outputTokenLogprobs!.map((t) => t[1]), r.outputIds);
      const [logprob, id, text] = meta.outputTokenLogprobs![0];
      assert.equal(text, null);
      assert.ok(Math.abs(logprob! - reference[id]) < TOLERANCE, `logprob ${logprob} vs reference ${reference[id]}`);
      const top = meta.outputTopLogprobs![0];
      assert.deepEqual(top.map((t) => t[1]), topIds(reference, 5));
      for (const [lp, tid] of top) assert.ok(Math.abs(lp! - reference[tid]) < TOLERANCE);
      assert.deepEqual(meta.outputTokenIdsLogprobs![0].map((t) => t[1]), asked);
      for (const [lp, tid] of meta.outputTokenIdsLogprobs![0]) assert.ok(Math.abs(lp! - reference[tid]) < TOLERANCE, `id ${tid}`);
      // Greedy: every chosen token is its position's most likely one.
      meta.outputTokenLogprobs!.forEach(([lp], i) => assert.equal(lp, meta.outputTopLogprobs![i][0][0]));
    });
  }

  test("a sampled request's logprobs are at its temperature", async () => {
    const c = cases.one_image;
    const reference = logSoftmax(floats(loadCaseTensors(QWEN, c.name).first_logits), 0.5);
    const r = await engine.generate({
      prompt: c.prompt, imageData: c.imagePaths, samplingParams: { temperature: 0.5, samplingSeed: 3, maxNewTokens: 2 }, returnLogprob: true,
    });
    const [logprob, id] = r.metaInfo.outputTokenLogprobs![0];
    assert.ok(Math.abs(logprob! - reference[id]) < TOLERANCE, `logprob ${logprob} vs reference ${reference[id]}`);
  });

  test("input logprobs from logprobStartLen, equal to the last row of the shorter prompt, with or without the cache", async () => {
    const ids = toNumbers(loadCaseTensors(QWEN, "text_only").input_ids);
    const L = ids.length;
    await engine.flushCache();
    const ask = { inputIds: ids, samplingParams: greedy(2), returnLogprob: true, logprobStartLen: 0, topLogprobsNum: 3 };
    const first = await engine.generate(ask);
    const input = first.metaInfo.inputTokenLogprobs!;
    assert.equal(input.length, L);
    assert.deepEqual(input.map((t) => t[1]), ids);
    assert.equal(input[0][0], null, "position 0 has no logprob");
    assert.equal(first.metaInfo.inputTopLogprobs![0], null);
    assert.equal(first.metaInfo.inputTopLogprobs![L - 1]!.length, 3);
    for (const [lp] of input.slice(1)) assert.ok(lp! <= 0 && Number.isFinite(lp!));
    // Position L - 1 predicted by the prompt's first L - 1 tokens, as an output row.
    const shorter = await engine.generate({ inputIds: ids.slice(0, L - 1), samplingParams: greedy(1), returnLogprob: true, tokenIdsLogprob: [ids[L - 1]] });
    assert.ok(Math.abs(shorter.metaInfo.outputTokenIdsLogprobs![0][0][0]! - input[L - 1][0]!) < 1e-4);
    // Again: the prefix cache now holds the prompt, but the rows asked for are computed.
    const again = await engine.generate(ask);
    assert.ok(again.metaInfo.cachedTokens === 0, `cachedTokens ${again.metaInfo.cachedTokens}`);
    again.metaInfo.inputTokenLogprobs!.forEach(([lp], i) => (i === 0 ? assert.equal(lp, null) : assert.ok(Math.abs(lp! - input[i][0]!) < 1e-5)));
    // A later start: only the positions from it, and the tokens before it may come from the cache.
    const late = await engine.generate({ ...ask, logprobStartLen: L - 3 });
    assert.equal(late.metaInfo.inputTokenLogprobs!.length, 3);
    late.metaInfo.inputTokenLogprobs!.forEach(([lp], i) => assert.ok(Math.abs(lp! - input[L - 3 + i][0]!) < 1e-4));
  });

  test("no logprob fields without returnLogprob; each of n samples gets its own", async () => {
    const plain = await engine.generate({ prompt: cases.text_only.prompt, samplingParams: greedy(2) });
    assert.equal(plain.metaInfo.outputTokenLogprobs, undefined);
    const samples = await engine.generate({
      prompt: cases.text_only.prompt, samplingParams: { temperature: 1, samplingSeed: 4, maxNewTokens: 5, ignoreEos: true, n: 2 }, returnLogprob: true,
    }) as GenerateResult[];
    for (const s of samples) assert.deepEqual(s.metaInfo.outputTokenLogprobs!.map((t) => t[1]), s.outputIds);
  });

  test("bad logprob fields fail with INVALID_ARGUMENT", async () => {
    const prompt = cases.text_only.prompt;
    await rejectsWith(engine.generate({ prompt, topLogprobsNum: 3 }), "INVALID_ARGUMENT", /topLogprobsNum needs returnLogprob: true/);
    await rejectsWith(engine.generate({ prompt, returnLogprob: true, logprobStartLen: 100000 }), "INVALID_ARGUMENT", /logprobStartLen must be/);
    await rejectsWith(engine.generate({ prompt, returnLogprob: true, tokenIdsLogprob: [10 ** 9] }), "INVALID_ARGUMENT", /tokenIdsLogprob must be/);
    await rejectsWith(engine.generate({ prompt: [prompt], returnLogprob: [true], samplingParams: { n: 2 } }), "INVALID_ARGUMENT", /Cannot use list returnLogprob/);
  });
});
