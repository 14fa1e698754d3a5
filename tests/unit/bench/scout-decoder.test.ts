/**
 * bench/decode-layers-scout.ts times what the engine runs: the decode step its decoder (bench/scout-decoder.ts) lays
 * out must be, kernel for kernel, the step the model runner launches for Llama 4 with `quantization: "fp8"` (on the
 * cpu, tiny-llama4, greedy), and its byte counts at Scout's shape must be issue 11's (~15 GB of FP8 layers a step).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildDecoder, layerWeightBytes } from "../../../bench/scout-decoder.js";
import { PageAllocator } from "../../../src/cache/page-allocator.js";
import type { Llama4Config } from "../../../src/checkpoint/llama4-config.js";
import { loadModelConfig } from "../../../src/checkpoint/model-config.js";
import { resolveSamplingParams } from "../../../src/core/sampling-params.js";
import { loadModel } from "../../../src/models/registry.js";
import { ModelRunner } from "../../../src/runner/model-runner.js";
import type { Backend } from "../../../src/runtime/backend.js";
import { CpuBackend } from "../../../src/runtime/cpu/cpu-backend.js";
import { Device } from "../../../src/runtime/device.js";
import { RadixCache } from "../../../src/cache/radix-cache.js";
import { Scheduler } from "../../../src/scheduler/scheduler.js";
import { modelDir } from "../../helpers/fixtures.js";

const NOT_KERNELS = new Set(["allocate", "release", "upload", "download", "synchronize", "createArena", "memoryStats", "supportsDType", "fill", "fillUniform"]);

/** A cpu device whose kernel calls, in order, go into `log` while it is not null. */
function recordingDevice(): { device: Device; calls: { log: string[] | null } } {
  const calls: { log: string[] | null } = { log: null };
  const backend = new Proxy(new CpuBackend() as Backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        if (calls.log !== null && !NOT_KERNELS.has(prop)) calls.log.push(prop);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { device: new Device("cpu", 0, backend), calls };
}

test("the benchmark's decode step is the model runner's, kernel for kernel (tiny-llama4, FP8, greedy)", async () => {
  const dir = modelDir("tiny-llama4");
  const config = loadModelConfig(join(dir, "config.json")) as Llama4Config;
  const { device, calls } = recordingDevice();
  const model = loadModel(config, device, null, { quantization: "fp8", loadFormat: "dummy" });
  const allocator = new PageAllocator({ numPages: 64, pageSize: 16 });
  const scheduler = new Scheduler({ allocator, prefixCache: new RadixCache(allocator), maxTokensPerStep: 64, maxRunningRequests: 2 });
  const runner = new ModelRunner(model, device, {
    numPages: 64, pageSize: 16, contextLength: 1024, maxTokensPerStep: 64, maxRunningRequests: 2, eosTokenIds: [], seed: 7,
  });
  const prompt = [1, 2, 3, 4, 5];
  scheduler.addRequest({ id: "a", promptIds: prompt, maxNewTokens: 3 });
  runner.addRequest({ id: "a", inputIds: Int32Array.from(prompt), history: scheduler.tokenHistory("a"),
    sampling: resolveSamplingParams({ maxNewTokens: 3, ignoreEos: true, temperature: 0 }, config.text.vocabSize) });
  let engine: string[] = [];
  for (let step = 0; step < 2; step++) {
    const batch = scheduler.schedule()!;
    calls.log = step === 1 ? [] : null; // the prefill, then the first decode step
    const { tokens } = await runner.collect(runner.launch(runner.prepare(batch.entries)));
    if (step === 1) engine = calls.log!;
    calls.log = null;
    scheduler.processBatchResult(batch, tokens);
  }
  const L = config.text.numLayers;
  const d = buildDecoder(device, config.text, { batch: 1, kvLen: 40, contextLength: 1024, layers: L, distinct: L, pageSize: 16 });
  calls.log = [];
  d.pre.forEach((k) => k.run(0));
  for (let i = 0; i < L; i++) d.kernels.forEach((k) => { if (k.on(i)) k.run(i); });
  d.post.forEach((k) => k.run(0));
  const bench = calls.log;
  calls.log = null;
  assert.ok(engine.includes("moeTop1SigmoidFp8") && engine.includes("rotaryStoreKV"), engine.join(" "));
  assert.deepEqual(bench, engine);
});

test("Scout's FP8 layers: ~2.2 GB of weights each, ~15 GB read a step at batch 1 (one routed expert a layer)", () => {
  const t = (loadModelConfig(join(modelDir("llama4-scout-shape"), "config.json")) as Llama4Config).text;
  const H = t.hiddenSize, I = t.expertIntermediateSize, E = t.numExperts;
  const perLayer = layerWeightBytes(t, 0);
  assert.ok(perLayer > 2.15e9 && perLayer < 2.25e9, `${perLayer}`);
  // At batch 1 a layer reads all but 15 of its 16 experts' weights.
  const readPerLayer = perLayer - (E - 1) * (3 * H * I + 4 * (2 * I + H));
  assert.ok(readPerLayer * t.numLayers > 14.8e9 && readPerLayer * t.numLayers < 15.4e9, `${readPerLayer * t.numLayers}`);
});
