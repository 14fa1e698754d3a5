/**
 * Structured output (samplingParams jsonSchema, regex, ebnf) end to end: 100 outputs sampled at temperature 1 from
 * the demo model and from each tiny fixture all validate against a bounded schema (checked by ajv); regular
 * expressions and EBNF grammars are matched in full; a bad constraint fails its request alone, before it is
 * queued; n > 1 and streaming keep the constraint; unconstrained neighbours sample as they would alone.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateResult } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { DEMO_MODEL } from "../helpers/step-checks.js";
import { modelDir } from "../helpers/fixtures.js";
import { LLAMA4, QWEN, assertFailedInBatch, collect, rejectsWith } from "../helpers/engine-helpers.js";
import { SHAPE_SCHEMA, assertValidShapes } from "../helpers/structured.js";

const jsonSchema = JSON.stringify(SHAPE_SCHEMA);
const PROMPT = "Describe the picture as JSON.";
const list = (r: GenerateResult | GenerateResult[]) => (Array.isArray(r) ? r : [r]);

describe("structured output on the demo model", () => {
  let llm: Engine;
  before(async () => {
    llm = await Engine.create({ modelPath: DEMO_MODEL });
  });
  after(async () => llm?.shutdown());

  test("100 samples at temperature 1 all validate against a bounded schema", async () => {
    const results = await llm.generate({
      prompt: Array.from({ length: 100 }, () => PROMPT),
      samplingParams: { temperature: 1, jsonSchema, maxNewTokens: 120 },
    });
    assertValidShapes(results, "demo sample");
    assert.ok(new Set(results.map((r) => r.text)).size > 10, "samples differ");
  });

  test("a regular expression is matched in full", async () => {
    const results = await llm.generate({
      prompt: Array.from({ length: 20 }, () => PROMPT),
      samplingParams: { temperature: 1, regex: "(red|blue|green) (circle|square)s?, [1-9][0-9]?", maxNewTokens: 40 },
    });
    for (const r of results) assert.match(r.text, /^(red|blue|green) (circle|square)s?, [1-9][0-9]?$/);
  });

  test("an EBNF grammar is matched in full", async () => {
    const ebnf = 'root ::= "answer: " item (", " item)?\nitem ::= ("yes" | "no" | [0-9])';
    const results = await llm.generate({ prompt: Array.from({ length: 20 }, () => PROMPT), samplingParams: { temperature: 1, ebnf, maxNewTokens: 40 } });
    for (const r of results) assert.match(r.text, /^answer: (yes|no|[0-9])(, (yes|no|[0-9]))?$/);
  });

  test("greedy decoding under a schema validates too", async () => {
    assertValidShapes(list(await llm.generate({ prompt: PROMPT, samplingParams: { temperature: 0, jsonSchema, maxNewTokens: 120 } })), "greedy");
  });

  test("a bad constraint fails its request alone, before it is queued, naming the problem", async () => {
    const { numBatches } = (await llm.getServerInfo()).internalStates[0];
    await rejectsWith(llm.generate({ prompt: PROMPT, samplingParams: { jsonSchema: "{\"type\": \"object\"," } }), "INVALID_ARGUMENT", /invalid jsonSchema: it is not JSON/);
    await rejectsWith(llm.generate({ prompt: PROMPT, samplingParams: { jsonSchema: "{\"type\": \"nope\"}" } }), "INVALID_ARGUMENT", /invalid jsonSchema: .*nope/);
    await rejectsWith(llm.generate({ prompt: PROMPT, samplingParams: { regex: "(a|b" } }), "INVALID_ARGUMENT", /invalid regex: /);
    await rejectsWith(llm.generate({ prompt: PROMPT, samplingParams: { ebnf: "root ::= item" } }), "INVALID_ARGUMENT", /invalid ebnf: .*item/);
    assert.equal((await llm.getServerInfo()).internalStates[0].numBatches, numBatches, "no step ran for the refused requests");
    // In a batch, the bad one aborts and its neighbour completes; the engine (and its grammar worker) live on.
    const [good, bad] = await llm.generate({
      prompt: [PROMPT, PROMPT],
      samplingParams: [{ temperature: 1, jsonSchema, maxNewTokens: 120 }, { temperature: 1, regex: "[unclosed" }],
    });
    assertValidShapes([good], "the valid neighbour");
    assertFailedInBatch(bad, "INVALID_ARGUMENT");
    const reason = bad.metaInfo.finishReason;
    assert.ok(reason?.type === "abort" && /invalid regex: .*Unclosed '\['/.test(reason.message), JSON.stringify(reason));
    assertValidShapes(list(await llm.generate({ prompt: PROMPT, samplingParams: { temperature: 1, jsonSchema, maxNewTokens: 120 } })), "after the failures");
  });

  test("n > 1: every sample follows the schema", async () => {
    const samples = list(await llm.generate({ prompt: PROMPT, samplingParams: { temperature: 1, jsonSchema, maxNewTokens: 120, n: 6, samplingSeed: 5 } }));
    assert.equal(samples.length, 6);
    assert.ok(new Set(samples.map((r) => r.text)).size > 1, "samples differ");
    assertValidShapes(samples, "parallel sample");
  });

  test("streaming: the deltas add up to a valid output", async () => {
    const chunks = await collect(llm.generateStream({ prompt: PROMPT, samplingParams: { temperature: 1, jsonSchema, maxNewTokens: 120 } }));
    const text = chunks.map((c) => c.delta).join("");
    const last = chunks.at(-1)!;
    assert.ok(chunks.length > 3, "the output streams in pieces");
    assert.equal(text, last.text);
    assertValidShapes([{ text, outputIds: [], metaInfo: last.metaInfo } as unknown as GenerateResult], "streamed");
  });

  test("an unconstrained request samples the same tokens beside a constrained one as alone", async () => {
    const plain = { temperature: 1, maxNewTokens: 24, samplingSeed: 99, ignoreEos: true };
    const alone = list(await llm.generate({ prompt: PROMPT, samplingParams: plain }))[0];
    const [beside, constrained] = await llm.generate({ prompt: [PROMPT, PROMPT], samplingParams: [plain, { temperature: 1, jsonSchema, maxNewTokens: 120 }] });
    assert.deepEqual(beside.outputIds, alone.outputIds);
    assertValidShapes([constrained], "constrained neighbour");
  });

  test("with the overlap scheduler off, a seeded constrained request gives the same tokens", async () => {
    const params = { temperature: 1, jsonSchema, maxNewTokens: 120, samplingSeed: 21 };
    const overlapped = list(await llm.generate({ prompt: PROMPT, samplingParams: params }))[0];
    const serial = await Engine.create({ modelPath: DEMO_MODEL, disableOverlapSchedule: true });
    try {
      const again = list(await serial.generate({ prompt: PROMPT, samplingParams: params }))[0];
      assert.deepEqual(again.outputIds, overlapped.outputIds);
      assertValidShapes([again], "without overlap");
    } finally {
      await serial.shutdown();
    }
  });

  test("compileGrammar validates ahead and caches", async () => {
    await llm.compileGrammar({ regex: "[a-z]{3}" });
    await rejectsWith(llm.compileGrammar({ ebnf: "root ::= (" }), "INVALID_ARGUMENT", /invalid ebnf/);
    await rejectsWith(llm.compileGrammar({}), "INVALID_ARGUMENT", /one of jsonSchema, regex or ebnf/);
  });
});

for (const fixture of [QWEN, LLAMA4]) {
  describe(`structured output on the tiny ${fixture} fixture`, () => {
    let llm: Engine;
    before(async () => {
      llm = await Engine.create({ modelPath: modelDir(fixture) });
    });
    after(async () => llm?.shutdown());

    test("100 samples at temperature 1 all validate against a bounded schema", async () => {
      const results = await llm.generate({
        prompt: Array.from({ length: 100 }, () => PROMPT),
        samplingParams: { temperature: 1, jsonSchema, maxNewTokens: 120 },
      });
      assertValidShapes(results, `${fixture} sample`);
      assert.ok(new Set(results.map((r) => r.text)).size > 10, "samples differ");
    });
  });
}
