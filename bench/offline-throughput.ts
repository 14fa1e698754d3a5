/**
 * Offline throughput on the nano-vllm / mini-sglang workload: `--requests` prompts of random token ids with
 * lengths in [100, `--max-input`], each generating a random length in [100, `--max-output`] with ignoreEos, all
 * submitted at once. `--images N` gives every prompt N random pictures (the multimodal variant). Prints one JSON
 * object; bench/reference/sglang_offline.py runs SGLang on the same seeds for comparison.
 *
 *   node --import tsx bench/offline-throughput.ts --model DIR [--load-format dummy] [--device cpu] [--requests 256]
 */
import { parseArgs } from "node:util";
import { Engine } from "../src/engine/engine.js";
import type { DecodedImage } from "../src/core/request.js";
import { runInfo } from "./run-info.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    "load-format": { type: "string", default: "auto" },
    device: { type: "string", default: "cpu" },
    requests: { type: "string", default: "256" },
    "max-input": { type: "string", default: "1024" },
    "max-output": { type: "string", default: "1024" },
    images: { type: "string", default: "0" },
    "image-size": { type: "string", default: "448" },
    seed: { type: "string", default: "0" },
  },
});
if (!values.model) throw new Error("--model DIR is required");
const requests = Number(values.requests);
const maxInput = Number(values["max-input"]);
const maxOutput = Number(values["max-output"]);
const imagesPerPrompt = Number(values.images);
const imageSize = Number(values["image-size"]);

// The same generator as bench/reference/sglang_offline.py (a 32-bit LCG), so both systems get the same workload.
let state = Number(values.seed) >>> 0;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const randint = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

const engine = await Engine.create({
  modelPath: values.model,
  loadFormat: values["load-format"] as "auto" | "dummy",
  device: values.device as "cpu" | "cuda",
  randomSeed: 0,
});
const vocab = Math.min(engine.config.text.vocabSize, 10_000);
const imageToken = engine.config.family === "qwen2_5_vl" ? "<|vision_start|><|image_pad|><|vision_end|>" : "<|image|>";
const prompts = Array.from({ length: requests }, () => Array.from({ length: randint(100, maxInput) }, () => randint(0, vocab - 1)));
const outputs = Array.from({ length: requests }, () => randint(100, maxOutput));
const picture = (): DecodedImage => {
  const data = new Uint8Array(imageSize * imageSize * 3);
  for (let i = 0; i < data.length; i++) data[i] = randint(0, 255);
  return { data, width: imageSize, height: imageSize, channels: 3 };
};

const start = performance.now();
const results = imagesPerPrompt === 0
  ? await engine.generate({ inputIds: prompts, samplingParams: outputs.map((n) => ({ maxNewTokens: n, ignoreEos: true, temperature: 0 })) })
  : await engine.generate({
    // Text around the pictures: the processor expands each placeholder; random ids would not decode to text.
    prompt: prompts.map((ids) => imageToken.repeat(imagesPerPrompt) + engine.tokenizer.decode(ids.slice(0, 100))),
    imageData: prompts.map(() => Array.from({ length: imagesPerPrompt }, picture)),
    samplingParams: outputs.map((n) => ({ maxNewTokens: n, ignoreEos: true, temperature: 0 })),
  });
const seconds = (performance.now() - start) / 1000;
await engine.shutdown();

const generated = results.reduce((n, r) => n + r.metaInfo.completionTokens, 0);
const promptTokens = results.reduce((n, r) => n + r.metaInfo.promptTokens, 0);
console.log(JSON.stringify({
  benchmark: "offline-throughput",
  ...runInfo(import.meta.url),
  device: engine.info.device,
  workload: { requests, maxInput, maxOutput, imagesPerPrompt, imageSize, seed: Number(values.seed) },
  results: { seconds, promptTokens, generatedTokens: generated, outputTokensPerSecond: generated / seconds, totalTokensPerSecond: (generated + promptTokens) / seconds },
}, null, 2));
