/**
 * The cpu backend on a tiny model: prefill and decode throughput and time to first token, through the Engine.
 * Prints one JSON object (machine, commit, command, results); record it in bench/results/.
 *
 *   node --import tsx bench/cpu.ts [--model DIR] [--batch 8] [--decode-tokens 64] [--prompt-tokens 512]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine/engine.js";
import { runInfo } from "./run-info.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: resolve("../shared/fixtures/models/tiny-qwen2_5-vl") },
    image: { type: "string", default: resolve("../shared/fixtures/cases/tiny-qwen2_5-vl/astronaut.png") },
    batch: { type: "string", default: "8" },
    "decode-tokens": { type: "string", default: "64" },
    "prompt-tokens": { type: "string", default: "512" },
  },
});
const batch = Number(values.batch);
const decodeTokens = Number(values["decode-tokens"]);
const promptTokens = Number(values["prompt-tokens"]);

const seconds = (start: number) => (performance.now() - start) / 1000;
const engine = await Engine.create({ modelPath: values.model!, disableRadixCache: true, randomSeed: 0 });
const greedy = (maxNewTokens: number) => ({ temperature: 0, maxNewTokens, ignoreEos: true });

// A text prompt of about `promptTokens` tokens: prefill dominates a one-token generation.
const words = Array.from({ length: promptTokens }, (_, i) => ["lighthouse", "ship", "sea", "cat", "night"][i % 5]).join(" ");
const textIds = engine.tokenizer.encode(words).slice(0, promptTokens);
await engine.generate({ inputIds: textIds.slice(0, 16), samplingParams: greedy(2) }); // warm-up
let start = performance.now();
await engine.generate({ inputIds: textIds, samplingParams: greedy(1) });
const prefillSeconds = seconds(start);

// Time to first token with one image, through the processor, the vision tower and the prefill.
const imagePrompt = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is shown here?<|im_end|>\n<|im_start|>assistant\n";
start = performance.now();
const first = engine.generateStream({ prompt: imagePrompt, imageData: [values.image!], samplingParams: greedy(1) });
let imagePromptTokens = 0;
for await (const chunk of first) imagePromptTokens = chunk.metaInfo.promptTokens;
const ttftImage = seconds(start);

// Decode: a batch of short prompts generating `decodeTokens` each; the prefill is a small part of the time.
const prompts = Array.from({ length: batch }, (_, i) => `Tell me story number ${i} about the sea.`);
start = performance.now();
const results = await engine.generate({ prompt: prompts, samplingParams: greedy(decodeTokens) });
const decodeSeconds = seconds(start);
const generated = results.reduce((n, r) => n + r.metaInfo.completionTokens, 0);
await engine.shutdown();

console.log(JSON.stringify({
  benchmark: "cpu",
  ...runInfo(import.meta.url),
  model: values.model,
  results: {
    prefill: { promptTokens: textIds.length, seconds: prefillSeconds, tokensPerSecond: textIds.length / prefillSeconds },
    timeToFirstTokenWithImage: { promptTokens: imagePromptTokens, seconds: ttftImage },
    decode: { batch, tokensPerRequest: decodeTokens, generatedTokens: generated, seconds: decodeSeconds, tokensPerSecond: generated / decodeSeconds },
  },
}, null, 2));
