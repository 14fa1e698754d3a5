// tpSize through the Engine on cuda (rank 0 on the engine's worker thread with cuda:0, ranks 1..n-1 in processes of
// their own on cuda:r, NCCL between them), on a machine with 2 or more GPUs: every fixture case of both tiny models,
// batched, gives the reference's greedy tokens at every step whose margin is above bf16's 0.05, as tpSize 1 does
// (tests/cuda/engine-parity.test.ts), and the per-rank memory plan is reported.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { GenerateResult } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { LAYOUTS, loadCases, loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { greedyMismatch } from "../helpers/greedy.js";
import { floats } from "../helpers/numerics.js";
import { gpuCount, nccl } from "./tp-harness.js";

const BF16_MARGIN = 0.05;
const gpus = nccl === false ? gpuCount() : 0;

for (const size of [2, 4]) {
  for (const fixture of ["tiny-qwen2_5-vl", "tiny-llama4"] as const) {
    const layout = LAYOUTS[fixture].find((l) => existsSync(modelDir(l)));
    const skip = nccl || (gpus < size ? `skipped: ${size} GPUs needed, ${gpus} here` : false) || (layout === undefined && `no ${fixture} fixture here`);
    describe(`${fixture} with tpSize ${size} on cuda`, { skip }, () => {
      let engine: Engine;
      before(async () => {
        engine = await Engine.create({ modelPath: modelDir(layout!), device: "cuda", tpSize: size, maxTotalTokens: 16384 });
      });
      after(() => engine?.shutdown());

      test("every case, batched, gives the reference's greedy tokens wherever its margin is above 0.05", async () => {
        const cases = loadCases(fixture);
        const results = (await engine.generate({
          prompt: cases.map((c) => c.prompt), imageData: cases.map((c) => c.imagePaths),
          samplingParams: { temperature: 0, maxNewTokens: 12, ignoreEos: true },
        })) as GenerateResult[];
        cases.forEach((c, i) => {
          const mismatch = greedyMismatch(results[i].outputIds, c.greedy_tokens, floats(loadCaseTensors(fixture, c.name).greedy_margins), BF16_MARGIN);
          console.log(`${fixture}/${c.name} at tpSize ${size}: ${results[i].outputIds.join(" ")}`);
          assert.equal(mismatch, null, `${c.name}: ${mismatch}`);
        });
        // 2 KV heads: one per rank over 2 GPUs, each replicated on two ranks over 4.
        assert.deepEqual(engine.info.tensorParallel, { size, kvHeadsPerRank: 1 });
      });
    });
  }
}
