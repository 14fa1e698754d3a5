/**
 * Time to first token by image format (issue 10): one request with one `--image-size` picture (512x512) and a short
 * question, one output token, given as (1) the raw decoded picture, (2) its processor output (Iris's processor, run
 * before the clock starts), (3) its precomputed embedding (`Engine.encodeImages`, before the clock starts). Every
 * request has its own picture (one more pixel changed), so the embedding cache never serves it, and the radix cache
 * is off (the shared text before the picture would otherwise come from it); the formats take turns within a repeat. Prints one JSON object with the median of `--repeats` after 3 warm-ups per format, and how
 * much lower the embedding's time is than the raw picture's. bench/reference/vlm_formats_hf.py is the twin.
 *
 *   node --import tsx bench/vlm-formats.ts --model DIR [--device cuda] [--repeats 10]
 */
import type { DecodedImage, GenerateRequest, ImageInput } from "../src/core/request.js";
import { Engine } from "../src/engine/engine.js";
import { AutoProcessor } from "../src/multimodal/auto-processor.js";
import type { Qwen2_5VLProcessorOutput } from "../src/multimodal/qwen2-5-vl-processor.js";
import { runInfo } from "./run-info.js";
import { engineOptions, parseFlags, picture, pictureQuestionPrompt, question, round } from "./vlm-workload.js";

const values = parseFlags({
  repeats: { type: "string", default: "10" },
  "image-size": { type: "string", default: "512" },
});
const repeats = Number(values.repeats), size = Number(values["image-size"]);
const WARMUPS = 3;
const engine = await Engine.create(engineOptions(values, { disableRadixCache: true }));
const processor = await AutoProcessor.fromPretrained(values.model!);
const prompt = pictureQuestionPrompt(question(0));
const base = picture(Number(values.seed), 0, size);

/** The picture with pixel bytes 0..k flipped in their lowest bit: the same work as the base, never a cache hit. */
function variant(k: number): DecodedImage {
  const data = new Uint8Array(base.data);
  for (let i = 0; i <= k; i++) data[i] ^= 1;
  return { ...base, data };
}

const FORMATS = ["raw", "processorOutput", "embedding"] as const;
type Format = (typeof FORMATS)[number];

/** The three requests of one variant, everything but the timed call done here. */
async function requestsFor(r: number): Promise<Record<Format, GenerateRequest>> {
  const processed = async (k: number) => {
    const po = await processor.process({ text: prompt, images: [variant(k)] }) as Qwen2_5VLProcessorOutput;
    return { po, item: { ...po, format: "processor_output" } as ImageInput };
  };
  const viaProcessor = await processed(3 * r + 1), viaEmbedding = await processed(3 * r + 2);
  const feature = await engine.encodeImages([viaEmbedding.item]);
  const samplingParams = { maxNewTokens: 1, temperature: 0 };
  const embedding = { ...viaEmbedding.po, format: "precomputed_embedding", feature } as ImageInput;
  return {
    raw: { prompt, imageData: [variant(3 * r)], samplingParams },
    processorOutput: { inputIds: viaProcessor.po.input_ids, imageData: [viaProcessor.item], samplingParams },
    embedding: { inputIds: viaEmbedding.po.input_ids, imageData: [embedding], samplingParams },
  };
}

const times: Record<Format, number[]> = { raw: [], processorOutput: [], embedding: [] };
let promptTokens = 0;
for (let r = 0; r < WARMUPS + repeats; r++) {
  const batch = await requestsFor(r);
  for (const format of FORMATS) {
    const start = performance.now();
    const result = await engine.generate(batch[format]);
    const ms = performance.now() - start;
    if (Array.isArray(result)) throw new Error("expected one result");
    if (result.metaInfo.finishReason?.type === "abort") throw new Error(`${format} failed: ${JSON.stringify(result.metaInfo.finishReason)}`);
    promptTokens = result.metaInfo.promptTokens;
    if (r >= WARMUPS) times[format].push(ms);
  }
}
await engine.shutdown();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ttftMs = Object.fromEntries(FORMATS.map((f) => [f, { median: round(median(times[f])), all: times[f].map(round) }]));
console.log(JSON.stringify({
  benchmark: "vlm-formats",
  ...runInfo(import.meta.url),
  device: engine.info.device,
  workload: { imageSize: size, promptTokens, repeats },
  ttftMs,
  embeddingVsRaw: round(1 - median(times.embedding) / median(times.raw)),
  processorOutputVsRaw: round(1 - median(times.processorOutput) / median(times.raw)),
}, null, 2));
