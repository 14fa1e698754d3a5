import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveSamplingParams, TOP_K_ALL, type SamplingParams } from "../../../src/core/sampling-params.js";
import { isIrisError } from "../../../src/core/errors.js";

const VOCAB = 1000;

test("defaults are SGLang's", () => {
  const p = resolveSamplingParams(undefined, VOCAB);
  assert.equal(p.maxNewTokens, 128);
  assert.equal(p.temperature, 1);
  assert.equal(p.topP, 1);
  assert.equal(p.topK, TOP_K_ALL);
  assert.equal(p.minP, 0);
  assert.equal(p.repetitionPenalty, 1);
  assert.equal(p.skipSpecialTokens, true);
  assert.equal(p.greedy, false);
  assert.deepEqual(p.stop, []);
});

test("temperature 0 is greedy through top-k 1, and top-k -1 means all", () => {
  const greedy = resolveSamplingParams({ temperature: 0 }, VOCAB);
  assert.equal(greedy.greedy, true);
  assert.equal(greedy.topK, 1);
  assert.equal(greedy.temperature, 1);
  assert.equal(resolveSamplingParams({ topK: -1 }, VOCAB).topK, TOP_K_ALL);
  assert.deepEqual(resolveSamplingParams({ stop: "END" }, VOCAB).stop, ["END"]);
});

const bad: [SamplingParams | Record<string, unknown>, RegExp][] = [
  [{ temperature: -0.1 }, /temperature must be a non-negative finite number, got -0.1/],
  [{ temperature: Infinity }, /temperature must be a non-negative finite number/],
  [{ topP: 0 }, /topP must be in \(0, 1\], got 0/],
  [{ topP: 1.5 }, /topP must be in \(0, 1\]/],
  [{ minP: 2 }, /minP must be in \[0, 1\], got 2/],
  [{ topK: 0 }, /topK must be -1 \(disable\) or at least 1, got 0/],
  [{ topK: 2.5 }, /topK must be -1/],
  [{ frequencyPenalty: 3 }, /frequencyPenalty must be in \[-2, 2\], got 3/],
  [{ presencePenalty: -2.5 }, /presencePenalty must be in \[-2, 2\]/],
  [{ repetitionPenalty: 0 }, /repetitionPenalty must be in \(0, 2\] \(1.0 = no penalty\), got 0/],
  [{ repetitionPenalty: 2.5 }, /repetitionPenalty must be in \(0, 2\]/],
  [{ maxNewTokens: -1 }, /maxNewTokens must be an integer of at least 0, got -1/],
  [{ maxNewTokens: 10, minNewTokens: 11 }, /minNewTokens must be in \[0, maxNewTokens\], got 11/],
  [{ stopTokenIds: [VOCAB] }, /stopTokenIds must be a list of token ids in \[0, 999\]/],
  [{ stop: [1] }, /stop must be a string or a list of strings/],
  [{ stop: "" }, /stop strings must not be empty/],
  [{ temperature: "hot" }, /temperature must be a number/],
  [{ ignoreEos: 1 }, /ignoreEos must be true or false/],
  [{ samplingSeed: 1.5 }, /samplingSeed must be an integer/],
  [{ seed: 3 }, /unknown sampling parameter seed \(did you mean samplingSeed\?\)/],
  [{ sampling_seed: 3 }, /unknown sampling parameter sampling_seed \(did you mean samplingSeed\?\)/],
  [{ maxNewToken: 3 }, /unknown sampling parameter maxNewToken \(did you mean maxNewTokens\?\)/],
  [{ n: 0 }, /n must be an integer of at least 1, got 0/],
  [{ n: "2" }, /n must be a number/],
  [{ json_schema: "{}" }, /unknown sampling parameter json_schema \(did you mean jsonSchema\?\)/],
  [{ jsonSchema: "{}", regex: "a+" }, /only one of jsonSchema, regex and ebnf may be given, got jsonSchema and regex/],
  [{ jsonSchema: { type: "object" } }, /jsonSchema must be the schema's JSON text \(JSON.stringify\(schema\)\)/],
  [{ regex: "" }, /regex must be a non-empty string/],
  [{ ebnf: 3 }, /ebnf must be a non-empty string, got 3/],
  [{ regex: "a+", ignoreEos: true }, /ignoreEos cannot be combined with regex/],
  [{ structuralTag: "{}" }, /structuralTag is not supported by Iris: structural tags are not implemented/],
  [{ seed: 1, topp: 0.5 }, /seed .*; unknown sampling parameter topp \(did you mean topP\?\)/],
  [{ max_new_tokens: 5 }, /unknown sampling parameter max_new_tokens \(did you mean maxNewTokens\?\)/],
  [{ beamWidth: 2 }, /unknown sampling parameter beamWidth;/],
];

for (const [params, message] of bad) {
  test(`rejects ${JSON.stringify(params)}`, () => {
    assert.throws(() => resolveSamplingParams(params as SamplingParams, VOCAB), (e) => isIrisError(e, "INVALID_ARGUMENT") && message.test(e.message));
  });
}

test("every SGLang sampling parameter is either Iris's (in camelCase) or refused with the reason", () => {
  const sglang = [
    "max_new_tokens", "stop", "stop_token_ids", "stop_regex", "temperature", "top_p", "top_k", "min_p",
    "frequency_penalty", "presence_penalty", "repetition_penalty", "min_new_tokens", "n", "json_schema", "regex", "ebnf",
    "structural_tag", "ignore_eos", "skip_special_tokens", "spaces_between_special_tokens", "no_stop_trim",
    "custom_params", "stream_interval", "logit_bias", "sampling_seed",
  ];
  for (const name of sglang) {
    // An object is no valid value of any parameter: a name Iris knows fails its value check, naming it.
    assert.throws(() => resolveSamplingParams({ [name]: {} } as SamplingParams, VOCAB), (e) => {
      const message = (e as Error).message;
      return isIrisError(e, "INVALID_ARGUMENT") && new RegExp(`\\b${name}\\b`).test(message) &&
        /did you mean \w+\?|is not supported by Iris: \w|must be/.test(message);
    }, name);
  }
});
