/**
 * Shared-picture throughput (issue 10): `--requests` requests (512) that ask different questions about one
 * `--image-size` picture, `--output-tokens` (128) new tokens each with ignoreEos and greedy sampling, all submitted at
 * once; run by an engine with the radix prefix cache and by one without it (`disableRadixCache`). Prints one JSON
 * object: each run's output tokens/s and `metaInfo.cachedTokens` total, the speed-up, and whether every request's
 * greedy output ids are the same both ways. (The vision embedding cache serves the picture in both runs: the
 * difference is the prefill of the shared prompt prefix.) bench/reference/vlm_offline_hf.py --shared-picture is
 * the Hugging Face twin.
 *
 *   node --import tsx bench/vlm-shared-picture.ts --model DIR [--device cuda] [--requests 512] [--output-tokens 128]
 */
import type { GenerateResult } from "../src/core/request.js";
import { Engine } from "../src/engine/engine.js";
import { runInfo } from "./run-info.js";
import { engineOptions, parseFlags, picture, pictureQuestionPrompt, question, round } from "./vlm-workload.js";

const values = parseFlags({
  requests: { type: "string", default: "512" },
  "output-tokens": { type: "string", default: "128" },
  "image-size": { type: "string", default: "512" },
  "warmup-requests": { type: "string", default: "8" },
});
const requests = Number(values.requests), outputTokens = Number(values["output-tokens"]), size = Number(values["image-size"]);
const seed = Number(values.seed);
const prompts = Array.from({ length: requests }, (_, i) => pictureQuestionPrompt(question(i)));
const params = { maxNewTokens: outputTokens, ignoreEos: true, temperature: 0 };

interface Run {
  readonly seconds: number;
  readonly results: GenerateResult[];
  readonly device: string;
}

/** One engine, warmed on another picture, then every request about picture (seed, 0) at once. */
async function measure(disableRadixCache: boolean): Promise<Run> {
  const engine = await Engine.create(engineOptions(values, { disableRadixCache }));
  try {
    const warm = Math.min(Number(values["warmup-requests"]), requests);
    const other = picture(seed + 1000, 0, size);
    await engine.generate({ prompt: prompts.slice(0, warm), imageData: prompts.slice(0, warm).map(() => [other]), samplingParams: { ...params, maxNewTokens: 4 } });
    const shared = picture(seed, 0, size);
    const start = performance.now();
    const results = await engine.generate({ prompt: prompts, imageData: prompts.map(() => [shared]), samplingParams: params });
    return { seconds: (performance.now() - start) / 1000, results, device: engine.info.device };
  } finally {
    await engine.shutdown();
  }
}

function summary(run: Run) {
  const sum = (f: (r: GenerateResult) => number) => run.results.reduce((n, r) => n + f(r), 0);
  const generated = sum((r) => r.metaInfo.completionTokens);
  return {
    seconds: round(run.seconds),
    generatedTokens: generated,
    promptTokens: sum((r) => r.metaInfo.promptTokens),
    cachedTokens: sum((r) => r.metaInfo.cachedTokens),
    requestsWithCacheHits: run.results.filter((r) => r.metaInfo.cachedTokens > 0).length,
    failed: run.results.filter((r) => r.metaInfo.finishReason?.type === "abort").length,
    outputTokensPerS: round(generated / run.seconds),
  };
}

const on = await measure(false);
const off = await measure(true);
const differing = on.results.flatMap((r, i) => (r.outputIds.join(",") === off.results[i].outputIds.join(",") ? [] : [i]));
const firstDifference = differing.length === 0 ? null : (() => {
  const a = on.results[differing[0]].outputIds, b = off.results[differing[0]].outputIds;
  let k = 0;
  while (k < a.length && a[k] === b[k]) k++;
  return { request: differing[0], token: k };
})();

const radixOn = summary(on), radixOff = summary(off);
console.log(JSON.stringify({
  benchmark: "vlm-shared-picture",
  ...runInfo(import.meta.url),
  device: on.device,
  workload: { requests, outputTokens, imageSize: size, seed },
  radixOn,
  radixOff,
  speedup: round(radixOn.outputTokensPerS / radixOff.outputTokensPerS),
  identicalOutputs: differing.length === 0,
  differingRequests: differing.length,
  firstDifference,
}, null, 2));
