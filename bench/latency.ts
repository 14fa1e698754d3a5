/**
 * Latency at batch 1 (issue 9), printing JSON: time to first token for one request with one 512x512 photograph and
 * one output token, from `generate` to the result, preprocessing included (median of `--repeats` after warm-up),
 * and decode speed at batch 1: `--decode-tokens` new tokens (end-of-sequence ignored) after the prompt with that
 * image, and after a text-only prompt. The picture is decoded once; each repeat changes one pixel so that no
 * cache (vision embeddings, prefix) serves it. bench/reference/latency_hf.py is the Hugging Face twin: run both in
 * the same device call. The engine's step profile is on: the JSON adds the image prompt's prefill steps' host and
 * device times. Qwen2.5-VL's prompts are in its chat format, Llama 4's in the llama-4 format (issue 11's Scout
 * measurement: `--quantization fp8` on llama4-scout-shape).
 *
 *   node --import tsx bench/latency.ts --model DIR --image PHOTO.png [--device cuda] [--load-format dummy] [--quantization fp8]
 */
import { parseArgs } from "node:util";
import sharp from "sharp";
import type { DecodedImage } from "../src/core/request.js";
import { Engine } from "../src/engine/engine.js";
import { AutoProcessor } from "../src/multimodal/auto-processor.js";
import { runInfo } from "./run-info.js";
import { enableStepProfile } from "./step-profile.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    image: { type: "string" },
    device: { type: "string", default: "cuda" },
    "load-format": { type: "string", default: "dummy" },
    "decode-tokens": { type: "string", default: "256" },
    repeats: { type: "string", default: "10" },
    quantization: { type: "string" },
  },
});
if (!values.model || !values.image) throw new Error("--model DIR and --image PHOTO are required");
const decodeTokens = Number(values["decode-tokens"]), repeats = Number(values.repeats);

const { data, info } = await sharp(values.image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
let variant = 0;
/** The photograph with one pixel changed per call: the same work, never a cache hit. */
const photo = (): DecodedImage => {
  const pixels = new Uint8Array(data);
  pixels[variant++ % pixels.length] ^= 1;
  return { data: pixels, width: info.width, height: info.height, channels: 3 };
};
const readProfile = enableStepProfile();
const engine = await Engine.create({
  modelPath: values.model,
  loadFormat: values["load-format"] as "auto" | "dummy",
  device: values.device as "cpu" | "cuda",
  randomSeed: 0,
  ...(values.quantization !== undefined && { quantization: values.quantization as "fp8" }),
});
/** A user turn and the assistant's opening in the model's chat format (Qwen's with its default system prompt). */
const chat = (user: string) => engine.config.family === "qwen2_5_vl"
  ? `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`
  : `<|begin_of_text|><|header_start|>user<|header_end|>\n\n${user}<|eot|><|header_start|>assistant<|header_end|>\n\n`;
const imageToken = engine.config.family === "qwen2_5_vl" ? "<|vision_start|><|image_pad|><|vision_end|>" : "<|image|>";
const prompt = chat(`${imageToken}Describe this picture in detail.`);
const textPrompt = chat("Describe a picture of an astronaut in detail.");

async function firstToken(): Promise<{ ms: number; promptTokens: number }> {
  const start = performance.now();
  const result = await engine.generate({ prompt, imageData: photo(), samplingParams: { maxNewTokens: 1, temperature: 0 } });
  return { ms: performance.now() - start, promptTokens: result.metaInfo.promptTokens };
}

/** Tokens per second after the first token: the stream's chunks from the first to the last. */
async function decodeRate(withImage: boolean): Promise<number> {
  const request = withImage
    ? { prompt, imageData: photo(), samplingParams: { maxNewTokens: decodeTokens, ignoreEos: true, temperature: 0 } }
    : { prompt: textPrompt, samplingParams: { maxNewTokens: decodeTokens, ignoreEos: true, temperature: 0 } };
  let first = 0, last = 0, tokens = 0;
  for await (const chunk of engine.generateStream(request)) {
    last = performance.now();
    if (first === 0) first = last;
    tokens = chunk.metaInfo.completionTokens;
  }
  return (tokens - 1) / ((last - first) / 1000);
}

for (let i = 0; i < 3; i++) await firstToken();
const runs: number[] = [];
let promptTokens = 0;
for (let i = 0; i < repeats; i++) {
  const run = await firstToken();
  runs.push(run.ms);
  promptTokens = run.promptTokens;
}
const sorted = [...runs].sort((a, b) => a - b);
// Where the time to first token goes: preprocessing and the vision tower alone (through encodeImages, read back).
const encodeRuns: number[] = [];
for (let i = 0; i < repeats; i++) {
  const start = performance.now();
  await engine.encodeImages([photo()]);
  encodeRuns.push(performance.now() - start);
}
encodeRuns.sort((a, b) => a - b);
// And Iris's processor alone on this thread (decode of the pixels excluded: they are given decoded).
const processor = await AutoProcessor.fromPretrained(values.model);
const processRuns: number[] = [];
for (let i = 0; i < repeats; i++) {
  const start = performance.now();
  await processor.process({ text: prompt, images: [photo()] });
  processRuns.push(performance.now() - start);
}
processRuns.sort((a, b) => a - b);
await decodeRate(false); // warm-up of the decode path
const withImage = await decodeRate(true), textOnly = await decodeRate(false);
await engine.shutdown();

console.log(JSON.stringify({
  benchmark: "latency",
  ...runInfo(import.meta.url),
  device: engine.info.device,
  ...(values.quantization !== undefined && { quantization: values.quantization }),
  promptTokens,
  ttftMs: { median: sorted[Math.floor(sorted.length / 2)], all: runs.map((ms) => Math.round(ms * 100) / 100) },
  encodeImagesMs: { median: encodeRuns[Math.floor(encodeRuns.length / 2)] },
  processorMs: { median: processRuns[Math.floor(processRuns.length / 2)] },
  decodeTokensPerS: { withImage, textOnly, newTokens: decodeTokens },
  // The image prompt's prefill steps (the first token): host launch (the vision tower runs in prepare), device span.
  prefillStepProfile: readProfile().groups.filter((g) => g.kind === `mixed t${promptTokens}`),
}, null, 2));
