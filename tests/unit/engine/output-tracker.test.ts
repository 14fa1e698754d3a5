import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveSamplingParams, type SamplingParams } from "../../../src/core/sampling-params.js";
import { OutputTracker, type TokenOutcome } from "../../../src/engine/output-tracker.js";
import { Tokenizer } from "../../../src/tokenizer/tokenizer.js";
import { modelDir } from "../../helpers/fixtures.js";

const tokenizer = Tokenizer.fromDir(modelDir("tiny-qwen2_5-vl"));
const EOS = tokenizer.encode("<|im_end|>", { addSpecialTokens: false });

/** A tokenizer that counts its decode calls. */
function countingTokenizer(): { tokenizer: Tokenizer; decodes: () => number } {
  let calls = 0;
  const spy = Object.create(tokenizer) as Tokenizer;
  spy.decode = (ids, options) => {
    calls++;
    return tokenizer.decode(ids, options);
  };
  return { tokenizer: spy, decodes: () => calls };
}

/** Feeds `ids` to the core's tracker and the caller's; returns both trackers' outcomes and the core's decode calls. */
function follow(ids: number[], params: SamplingParams): { core: TokenOutcome[]; caller: TokenOutcome[]; coreDecodes: number } {
  const sampling = resolveSamplingParams(params, tokenizer.vocabSize);
  const counting = countingTokenizer();
  const onCore = new OutputTracker(counting.tokenizer, sampling, EOS, { textOnlyForStops: true });
  const onCaller = new OutputTracker(tokenizer, sampling, EOS);
  const run = (tracker: OutputTracker) => {
    const outcomes: TokenOutcome[] = [];
    for (const id of ids) {
      outcomes.push(tracker.push(id));
      if (outcomes.at(-1)!.finishReason) break;
    }
    return outcomes;
  };
  return { core: run(onCore), caller: run(onCaller), coreDecodes: counting.decodes() };
}

const text = "The answer is a red circle. Then more words follow here.";
const ids = [...tokenizer.encode(text, { addSpecialTokens: false }), ...EOS, ...tokenizer.encode(" after", { addSpecialTokens: false })];

test("without stop strings the core's tracker decodes nothing and ends where the caller's does", () => {
  for (const params of [{ maxNewTokens: 64 }, { maxNewTokens: 5 }, { maxNewTokens: 64, ignoreEos: true }]) {
    const { core, caller, coreDecodes } = follow(ids, params);
    assert.equal(coreDecodes, 0, JSON.stringify(params));
    assert.deepEqual(core.map((o) => o.finishReason), caller.map((o) => o.finishReason), JSON.stringify(params));
    assert.ok(core.every((o) => o.delta === ""), "the core's tracker hands out no text");
  }
  const { caller } = follow(ids, { maxNewTokens: 64 });
  assert.equal(caller.map((o) => o.delta).join(""), text, "the caller's text drops the stop token");
});

test("with a stop string the core's tracker decodes to find it and ends at the caller's token", () => {
  const { core, caller, coreDecodes } = follow(ids, { maxNewTokens: 64, stop: ["circle"] });
  assert.ok(coreDecodes > 0);
  assert.equal(core.length, caller.length);
  assert.deepEqual(core.at(-1)!.finishReason, { type: "stop", matched: "circle" });
  assert.deepEqual(caller.at(-1)!.finishReason, core.at(-1)!.finishReason);
  assert.equal(caller.map((o) => o.delta).join(""), "The answer is a red ");
});
