/**
 * Structured output's costs, printing JSON: for each model's vocabulary, the grammar engine's start (vocabulary
 * preprocessing), the compile time of each constraint (first and cached), and the mask time per token (XGrammar's
 * next-token bitmask plus the UTF-8 guard, over random walks of the grammar: the grammar worker's work per request
 * and step); then, on the engine, time per generated token of a batch of 16 (each step's time: the model, the
 * sampler and, with a schema, the round trip to the grammar worker with its 16 masks), with and without a schema.
 *
 *   node --import tsx bench/grammar.ts [--models DIR,DIR] [--walks 20]
 */
import { parseArgs } from "node:util";
import { loadModelConfig } from "../src/checkpoint/model-config.js";
import { Engine } from "../src/engine/engine.js";
import { Utf8Guard } from "../src/grammar/utf8-guard.js";
import { XGrammarRuntime } from "../src/grammar/xgrammar-runtime.js";
import type { GrammarSpec } from "../src/core/sampling-params.js";
import { Tokenizer } from "../src/tokenizer/tokenizer.js";
import { runInfo } from "./run-info.js";

const { values } = parseArgs({ options: { models: { type: "string", default: "models/shapes-vlm" }, walks: { type: "string", default: "20" } } });
const walks = Number(values.walks);

const SHAPE = { type: "object", properties: { shape: { enum: ["circle", "square", "triangle"] }, count: { type: "integer", minimum: 0, maximum: 12 }, color: { type: "string", maxLength: 6 } }, required: ["shape", "count", "color"], additionalProperties: false };
const NESTED = {
  type: "object", additionalProperties: false, required: ["scene", "objects"],
  properties: {
    scene: { type: "string", maxLength: 40 },
    objects: { type: "array", maxItems: 4, items: { type: "object", additionalProperties: false, required: ["kind", "x", "y"], properties: { kind: { enum: ["circle", "square", "triangle", "star"] }, x: { type: "integer", minimum: 0, maximum: 999 }, y: { type: "integer", minimum: 0, maximum: 999 }, filled: { type: "boolean" } } } },
  },
};
const CONSTRAINTS: Record<string, GrammarSpec> = {
  "json-schema-shape": { kind: "jsonSchema", text: JSON.stringify(SHAPE) },
  "json-schema-nested": { kind: "jsonSchema", text: JSON.stringify(NESTED) },
  "regex-date": { kind: "regex", text: "(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])" },
  "ebnf-list": { kind: "ebnf", text: 'root ::= item (", " item){0,4}\nitem ::= [a-z]{1,8}' },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
const round = (x: number) => Math.round(x * 1000) / 1000;

async function vocabularyCosts(dir: string) {
  const tokenizer = Tokenizer.fromDir(dir);
  const V = loadModelConfig(`${dir}/config.json`).text.vocabSize;
  const guard = new Utf8Guard(Array.from({ length: V }, (_, id) => tokenizer.idToToken(id) ?? ""), (id) => tokenizer.isSpecial(id));
  let t = performance.now();
  const runtime = await XGrammarRuntime.create({ tokens: guard.vocabulary, vocabSize: V, stopTokenIds: [tokenizer.eosTokenId ?? 0] });
  const startMs = performance.now() - t;
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const constraints: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONSTRAINTS)) {
    t = performance.now();
    const grammar = await runtime.compile(spec);
    const compileMs = performance.now() - t;
    const maskMs: number[] = [];
    for (let w = 0; w < walks; w++) {
      const matcher = await runtime.matcher(grammar, [tokenizer.eosTokenId ?? 0]);
      let previous = -1;
      for (let step = 0; step < 200 && !matcher.isTerminated(); step++) {
        t = performance.now();
        const mask = await matcher.getNextTokenBitmask();
        if (previous >= 0) guard.apply(mask, previous);
        maskMs.push(performance.now() - t);
        const allowed: number[] = [];
        for (let id = 0; id < V; id++) if ((mask[id >> 5] >>> (id & 31)) & 1) allowed.push(id);
        previous = allowed[Math.floor(random() * allowed.length)];
        matcher.acceptToken(previous);
      }
      matcher.dispose();
    }
    constraints[name] = { compileMs: round(compileMs), maskMsMedian: round(median(maskMs)), maskMsP90: round(p90(maskMs)), steps: maskMs.length };
  }
  return { model: dir, vocabSize: V, grammarEngineStartMs: round(startMs), constraints };
}

async function engineCosts(dir: string) {
  const llm = await Engine.create({ modelPath: dir });
  const prompt = Array.from({ length: 16 }, () => "Describe the picture as JSON.");
  const perToken = async (samplingParams: object) => {
    const t = performance.now();
    const results = await llm.generate({ prompt, samplingParams: { temperature: 1, maxNewTokens: 120, ...samplingParams } });
    const tokens = results.reduce((n, r) => n + r.metaInfo.completionTokens, 0);
    return { tokens, msPerBatchToken: round((performance.now() - t) / (tokens / prompt.length)) };
  };
  const compileMs = await llm.compileGrammar({ jsonSchema: JSON.stringify(SHAPE) });
  const cachedMs = await llm.compileGrammar({ jsonSchema: JSON.stringify(SHAPE) });
  await perToken({ maxNewTokens: 4 }); // warm-up
  // Alternated and the best of three kept: the machine's other load shows up as noise, not as a difference.
  const runs: { plain: { tokens: number; msPerBatchToken: number }[]; constrained: { tokens: number; msPerBatchToken: number }[] } = { plain: [], constrained: [] };
  for (let r = 0; r < 3; r++) {
    runs.plain.push(await perToken({ ignoreEos: true, maxNewTokens: 40 }));
    runs.constrained.push(await perToken({ jsonSchema: JSON.stringify(SHAPE) }));
  }
  const best = (xs: { tokens: number; msPerBatchToken: number }[]) => xs.reduce((a, b) => (b.msPerBatchToken < a.msPerBatchToken ? b : a));
  const plain = best(runs.plain), constrained = best(runs.constrained);
  await llm.shutdown();
  return { model: dir, batch: prompt.length, engineCompileMs: round(compileMs), engineCachedCompileMs: round(cachedMs), plain, constrained };
}

const models = values.models.split(",");
const vocabularies = [];
for (const dir of models) vocabularies.push(await vocabularyCosts(dir));
const engine = [];
for (const dir of models) engine.push(await engineCosts(dir));
console.log(JSON.stringify({ ...runInfo("bench/grammar.ts"), vocabularies, engine }, null, 2));
