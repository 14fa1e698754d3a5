/**
 * Decode speed alone, printing JSON: `--batch` text-only requests of `--prompt-tokens` random token ids decode
 * `--decode-tokens` tokens each (end-of-sequence ignored); the rate is that run's time less a one-token run's. Small
 * enough to run under a profiler (ncu: one decode step is a few hundred kernels; `--disable-cuda-graph` launches them
 * one by one).
 *
 * The engine's step profile (`IRIS_STEP_PROFILE`) is on: the JSON adds the median host and device times of the
 * decode steps (src/engine/step-profile.ts), the marks costing a few microseconds a step.
 *
 *   node --import tsx bench/decode-step.ts --model DIR [--batch 1] [--prompt-tokens 338] [--decode-tokens 128]
 *     [--quantization fp8] [--mem-fraction-static F] [--tp-size N]
 */
import { parseArgs } from "node:util";
import { Engine } from "../src/engine/engine.js";
import { runInfo } from "./run-info.js";
import { enableStepProfile } from "./step-profile.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    device: { type: "string", default: "cuda" },
    batch: { type: "string", default: "1" },
    "prompt-tokens": { type: "string", default: "338" },
    "decode-tokens": { type: "string", default: "128" },
    "context-length": { type: "string", default: "4096" },
    "disable-cuda-graph": { type: "boolean", default: false },
    quantization: { type: "string" },
    "mem-fraction-static": { type: "string" },
    /** Tensor parallelism: GPUs the model is sharded over (issue 12: Scout at 4). */
    "tp-size": { type: "string", default: "1" },
  },
});
if (!values.model) throw new Error("--model DIR is required");
const batch = Number(values.batch), promptTokens = Number(values["prompt-tokens"]), decodeTokens = Number(values["decode-tokens"]);

const readProfile = enableStepProfile();
const engine = await Engine.create({
  modelPath: values.model, loadFormat: "dummy", device: values.device as "cpu" | "cuda", randomSeed: 0,
  contextLength: Number(values["context-length"]), maxRunningRequests: Math.max(batch, 8), disableCudaGraph: values["disable-cuda-graph"],
  quantization: values.quantization as "fp8" | undefined,
  memFractionStatic: values["mem-fraction-static"] === undefined ? undefined : Number(values["mem-fraction-static"]),
  tpSize: Number(values["tp-size"]),
});
let seed = 1;
const prompt = () => Array.from({ length: promptTokens }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % 300);  // ids every vocabulary has

/** Seconds to run the batch with `tokens` new tokens each. */
async function timed(tokens: number): Promise<number> {
  const inputIds = Array.from({ length: batch }, prompt);
  const start = performance.now();
  const results = await engine.generate({ inputIds, samplingParams: { maxNewTokens: tokens, ignoreEos: true, temperature: 0 } });
  for (const r of [results].flat()) if (r.outputIds.length !== tokens) throw new Error(`a request gave ${r.outputIds.length} tokens, not ${tokens}`);
  return (performance.now() - start) / 1000;
}

/** Decode tokens per second: the time of N tokens less the time of one (the prefill), over the N - 1 steps. */
async function run(): Promise<number> {
  const prefillOnly = await timed(1);
  return (batch * (decodeTokens - 1)) / ((await timed(decodeTokens)) - prefillOnly);
}

await run(); // warm-up: captures the graph of this batch size
const tokensPerS = await run();
await engine.shutdown();
const { groups } = readProfile();
console.log(JSON.stringify({
  benchmark: "decode-step", ...runInfo(import.meta.url), device: engine.info.device, batch, promptTokens, decodeTokens,
  cudaGraph: !values["disable-cuda-graph"], tokensPerS, msPerStep: (1000 * batch) / tokensPerS,
  // What the engine holds: the weights as stored (FP8 counted at a byte), and the KV cache's capacity in tokens.
  quantization: engine.info.quantization, weightGB: engine.info.weightBytes / 1e9, kvCacheTokens: engine.info.maxTotalTokens,
  stepProfile: groups.filter((g) => g.kind.startsWith(`decode b${batch}`)),
}, null, 2));
