/**
 * Offline multimodal throughput (issue 10): `--requests` requests (512), each with its own `--image-size` picture
 * (512x512, distinct pixels from the seed, given decoded) inside the qwen2-vl template with a short question,
 * `--output-tokens` (128) new tokens each with ignoreEos, all submitted at once; preprocessing is inside the time.
 * Prints one JSON object: output tokens/s, and per phase the achieved FLOP/s or bytes/s against the floor that the
 * model's shape and the measured device ceilings give (bench/vlm-floors.ts). The phases come from three more runs
 * on fresh pictures (no cache hit): the vision tower alone (`encodeImages` in groups of `--vision-group`, all in
 * flight at once, embeddings downloaded), the prompts with those embeddings precomputed (prefill alone, one output
 * token each), and the prompts with raw pictures and one output token: decode = the main run minus the last.
 * `--no-phases` skips them. bench/reference/vlm_offline_hf.py is the Hugging Face twin: run both in one device call.
 * Llama 4 (issue 11: Scout with `--quantization fp8`) runs the same workload in the llama-4 template with
 * `--no-phases`, its floor from bench/vlm-floors-llama4.ts (tiles, the experts a step reads, FP8 bytes).
 *
 *   node --import tsx bench/vlm-offline.ts --model DIR [--device cuda] [--requests 512] [--output-tokens 128]
 *     [--image-size 512] [--kv-cache-mb N] [--max-running-requests N] [--context-length N] [--preprocess-workers N]
 *     [--copy-gbps 4253] [--matrix-tflops 772] [--no-phases] [--quantization fp8]
 */
import type { Qwen2_5_VLConfig } from "../src/checkpoint/qwen2-5-vl-config.js";
import { hostTensor, type HostTensor } from "../src/core/host-tensor.js";
import type { GenerateResult, ImageInput } from "../src/core/request.js";
import { Engine } from "../src/engine/engine.js";
import { AutoProcessor } from "../src/multimodal/auto-processor.js";
import type { Qwen2_5VLProcessorOutput } from "../src/multimodal/qwen2-5-vl-processor.js";
import type { Llama4Config } from "../src/checkpoint/llama4-config.js";
import { runInfo } from "./run-info.js";
import { enableStepProfile } from "./step-profile.js";
import { H200_MEASURED, workloadFloor } from "./vlm-floors.js";
import { llama4WorkloadFloor } from "./vlm-floors-llama4.js";
import { engineOptions, parseFlags, picture, pictureQuestionPrompt, question, round } from "./vlm-workload.js";

const values = parseFlags({
  requests: { type: "string", default: "512" },
  "output-tokens": { type: "string", default: "128" },
  "image-size": { type: "string", default: "512" },
  "vision-group": { type: "string", default: "16" },
  "warmup-requests": { type: "string", default: "8" },
  "copy-gbps": { type: "string", default: String(H200_MEASURED.copyBytesPerS / 1e9) },
  "matrix-tflops": { type: "string", default: String(H200_MEASURED.matrixFlopPerS / 1e12) },
  "no-phases": { type: "boolean", default: false },
});
const requests = Number(values.requests), outputTokens = Number(values["output-tokens"]), size = Number(values["image-size"]);
const seed = Number(values.seed);
const ceilings = { copyBytesPerS: Number(values["copy-gbps"]) * 1e9, matrixFlopPerS: Number(values["matrix-tflops"]) * 1e12 };

// The step profile (totals per step kind): with --no-phases it is the warm-up's and the main run's steps alone.
const readProfile = enableStepProfile();
const engine = await Engine.create(engineOptions(values));
// Llama 4 (issue 11: Scout in FP8) takes the main run and its floor; the phase runs are Qwen2.5-VL's.
const llama4 = engine.config.family === "llama4";
if (llama4 && !values["no-phases"]) throw new Error("the phase runs are Qwen2.5-VL's: pass --no-phases for Llama 4");
const config = engine.config as Qwen2_5_VLConfig;
const prompts = Array.from({ length: requests }, (_, i) => pictureQuestionPrompt(question(i), llama4 ? "llama-4" : "qwen2-vl"));
const params = { maxNewTokens: outputTokens, ignoreEos: true, temperature: 0 };

/** All requests at once on the pictures of `runSeed`; seconds from the call to the last result. */
async function run(runSeed: number, count: number, newTokens: number): Promise<{ seconds: number; results: GenerateResult[] }> {
  const images = Array.from({ length: count }, (_, i) => [picture(runSeed, i, size)]);
  const start = performance.now();
  const results = await engine.generate({
    prompt: prompts.slice(0, count), imageData: images, samplingParams: { ...params, maxNewTokens: newTokens },
  });
  return { seconds: (performance.now() - start) / 1000, results };
}

/**
 * The vision tower alone over `count` fresh pictures, `group` per encodeImages call, every call in flight at once
 * (the image workers preprocess later groups while the device encodes earlier ones): the seconds, and each picture's
 * embeddings [tokens, hidden] for `prefillOnly`.
 */
async function visionOnly(runSeed: number, count: number, group: number, rows: number): Promise<{ seconds: number; features: HostTensor[] }> {
  const images = Array.from({ length: count }, (_, i) => picture(runSeed, i, size));
  const start = performance.now();
  const calls = [];
  for (let i = 0; i < count; i += group) calls.push(engine.encodeImages(images.slice(i, i + group)));
  const groups = await Promise.all(calls);
  const seconds = (performance.now() - start) / 1000;
  const features = groups.flatMap((g) => {
    const width = g.shape[1];
    return Array.from({ length: g.shape[0] / rows }, (_, k) => hostTensor("F32", [rows, width], (g.data as Float32Array).subarray(k * rows * width, (k + 1) * rows * width)));
  });
  return { seconds, features };
}

/** The prompts with their pictures' precomputed embeddings, one output token each: prefill without vision. */
async function prefillOnly(features: HostTensor[], grid: readonly number[]): Promise<number> {
  const start = performance.now();
  await engine.generate({
    prompt: prompts.slice(0, features.length),
    imageData: features.map((feature) => [{ format: "precomputed_embedding", feature, image_grid_thw: [[...grid]] } as ImageInput]),
    samplingParams: { ...params, maxNewTokens: 1 },
  });
  return (performance.now() - start) / 1000;
}

await run(seed + 1000, Math.min(Number(values["warmup-requests"]), requests), 4);
const main = await run(seed, requests, outputTokens);
const failed = main.results.filter((r) => r.metaInfo.finishReason?.type === "abort").length;
const generated = main.results.reduce((n, r) => n + r.metaInfo.completionTokens, 0);
const promptTokens = main.results.reduce((n, r) => n + r.metaInfo.promptTokens, 0);
const cachedTokens = main.results.reduce((n, r) => n + r.metaInfo.cachedTokens, 0);

const processor = await AutoProcessor.fromPretrained(values.model!);
const processed = await processor.process({ text: prompts[0], images: [picture(seed, 0, size)] });
// Qwen2.5-VL: the picture's patch grid; Llama 4: its tiles (the processor's pixel_values rows).
const [t, h, w] = llama4 ? [0, 0, 0] : Array.from((processed as Qwen2_5VLProcessorOutput).image_grid_thw!.data as ArrayLike<number | bigint>, Number);
const tiles = llama4 ? processed.pixel_values!.shape[0] : 0;

let phases: Record<string, unknown> | null = null;
let visionSeconds = NaN, prefillSeconds = NaN, promptSeconds = NaN;
if (!values["no-phases"]) {
  const vision = await visionOnly(seed + 1, requests, Number(values["vision-group"]), (t * h * w) / config.vision.spatialMergeSize ** 2);
  visionSeconds = vision.seconds;
  prefillSeconds = await prefillOnly(vision.features, [t, h, w]);
  promptSeconds = (await run(seed + 2, requests, 1)).seconds;
}
const server = await engine.getServerInfo();
await engine.shutdown();
const profile = readProfile();
const meanPrompt = promptTokens / requests;
const decodeBatch = Math.min(requests, server.maxRunningRequests);
const floor = llama4
  ? llama4WorkloadFloor(engine.config as Llama4Config, {
    requests, tilesPerImage: tiles, promptLength: meanPrompt, outputTokens, decodeBatch, fp8: values.quantization === "fp8",
  }, ceilings)
  : workloadFloor(config, { requests, grid: { t, h, w }, promptLength: meanPrompt, outputTokens, decodeBatch }, ceilings);

if (!values["no-phases"]) {
  const decodeSeconds = main.seconds - promptSeconds;
  phases = {
    note: "vision: encodeImages alone (preprocessing overlapped, embeddings downloaded); prefill: the prompts with those embeddings " +
      "precomputed, one token each; decode: main run minus a run of the prompts with raw pictures and one token each (promptsSeconds); " +
      "overlap: promptsSeconds minus vision minus prefill (negative: vision and prefill overlap in the engine)",
    promptsSeconds: round(promptSeconds),
    overlapSeconds: round(promptSeconds - visionSeconds - prefillSeconds),
    vision: { seconds: round(visionSeconds), floorSeconds: round(floor.seconds.vision), flopPerS: round(floor.visionFlops / visionSeconds) },
    prefill: { seconds: round(prefillSeconds), floorSeconds: round(floor.seconds.prefill), flopPerS: round(floor.prefillFlops / prefillSeconds) },
    decode: {
      seconds: round(decodeSeconds), floorSeconds: round(floor.seconds.decode), bound: floor.decode.bound, steps: floor.decode.steps,
      bytesPerS: round(floor.decode.bytes / decodeSeconds), flopPerS: round(floor.decode.flops / decodeSeconds),
    },
  };
}

console.log(JSON.stringify({
  benchmark: "vlm-offline",
  ...runInfo(import.meta.url),
  device: engine.info.device,
  workload: {
    requests, outputTokens, imageSize: size, ...(llama4 ? { tiles } : { grid: [t, h, w] }), meanPromptTokens: round(meanPrompt), seed,
    quantization: values.quantization ?? null,
  },
  engine: {
    maxRunningRequests: server.maxRunningRequests, chunkedPrefillSize: server.chunkedPrefillSize,
    maxTotalNumTokens: server.maxTotalNumTokens, contextLength: server.contextLength, preprocessWorkers: values["preprocess-workers"] ?? "default",
  },
  results: {
    seconds: round(main.seconds), generatedTokens: generated, promptTokens, cachedTokens, failed,
    outputTokensPerS: round(generated / main.seconds), totalTokensPerS: round((generated + promptTokens) / main.seconds),
  },
  floor: {
    ceilings: { copyGBps: ceilings.copyBytesPerS / 1e9, matrixTflops: ceilings.matrixFlopPerS / 1e12 },
    visionTflop: round(floor.visionFlops / 1e12), prefillTflop: round(floor.prefillFlops / 1e12),
    decodeGB: round(floor.decode.bytes / 1e9), decodeBandwidthSeconds: round(floor.decode.bandwidthSeconds), decodeTflop: round(floor.decode.flops / 1e12), decodeBound: floor.decode.bound,
    seconds: { vision: round(floor.seconds.vision), prefill: round(floor.seconds.prefill), decode: round(floor.seconds.decode), total: round(floor.seconds.total) },
    outputTokensPerS: round(floor.outputTokensPerS),
    fractionOfFloor: round(generated / main.seconds / floor.outputTokensPerS),
  },
  phases,
  stepProfileTotals: profile.totals,
  // Each step with prompt tokens apart (its own group: token counts differ), in the order they ran: where the
  // prompt phase's host launch, device span and idle go step by step.
  promptSteps: profile.groups.filter((g) => !g.kind.startsWith("decode")),
}, null, 2));
