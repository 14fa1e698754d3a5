// Logprobs through the Engine on cuda (the engine no longer refuses them there): the first output logprobs of
// every Qwen fixture case against the log-softmax of the reference first_logits, within bf16's error (the model
// runs in bf16; the logprob kernels themselves are F32 and match the cpu to float rounding, tests/cuda/logprobs).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Engine } from "../../src/engine/engine.js";
import { LAYOUTS, loadCases, loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { floats } from "../helpers/numerics.js";
import { skipCuda } from "./harness.js";

const MODEL = "tiny-qwen2_5-vl";
/** bf16 logits agree with the reference to ~1e-2; logprobs to about the same absolute error. */
const TOLERANCE = 5e-2;

function logSoftmax(logits: Float32Array): Float64Array {
  const max = logits.reduce((m, x) => Math.max(m, x), -Infinity);
  const logSum = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
  return Float64Array.from(logits, (x) => x - logSum);
}

const layout = LAYOUTS[MODEL].find((l) => existsSync(modelDir(l)));
describe("logprobs on cuda", { skip: skipCuda || (layout === undefined ? "no tiny-qwen2_5-vl fixture" : false) }, () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(layout!), device: "cuda" });
  });
  after(() => engine?.shutdown());

  for (const c of loadCases(MODEL)) {
    test(`${c.name}: output, top and asked logprobs near the reference's log-softmax`, async () => {
      const tensors = loadCaseTensors(MODEL, c.name);
      const reference = logSoftmax(floats(tensors.first_logits));
      const asked = [0, 13, c.greedy_tokens[0]];
      const r = await engine.generate({
        prompt: c.prompt, imageData: c.imagePaths, samplingParams: { temperature: 0, maxNewTokens: 4, ignoreEos: true },
        returnLogprob: true, topLogprobsNum: 5, tokenIdsLogprob: asked, logprobStartLen: 0,
      });
      const meta = r.metaInfo;
      assert.deepEqual(meta.outputTokenLogprobs!.map((t) => t[1]), r.outputIds, "output logprob ids are the output tokens");
      const [logprob, id] = meta.outputTokenLogprobs![0];
      let worst = Math.abs(logprob! - reference[id]);
      const top = meta.outputTopLogprobs![0];
      assert.equal(top.length, 5);
      const fifth = [...reference].sort((a, b) => b - a)[4];
      for (let i = 0; i < top.length; i++) {
        const [lp, tid] = top[i];
        worst = Math.max(worst, Math.abs(lp! - reference[tid!]));
        assert.ok(reference[tid!] >= fifth - TOLERANCE, `top ${i}: id ${tid} is not among the reference's top 5 (${reference[tid!]} < ${fifth})`);
        if (i > 0) assert.ok(lp! <= top[i - 1][0]!, `top logprobs in order: ${JSON.stringify(top)}`);
      }
      assert.deepEqual(meta.outputTokenIdsLogprobs![0].map((t) => t[1]), asked);
      for (const [lp, tid] of meta.outputTokenIdsLogprobs![0]) worst = Math.max(worst, Math.abs(lp! - reference[tid!]));
      console.log(`${c.name}: largest logprob error on cuda ${worst.toExponential(2)} (tolerance ${TOLERANCE})`);
      assert.ok(worst < TOLERANCE, `${c.name}: logprob error ${worst}`);
      // Greedy: each chosen token is its position's most likely one; input logprobs cover the prompt (null first).
      meta.outputTokenLogprobs!.forEach(([lp], i) => assert.equal(lp, meta.outputTopLogprobs![i][0][0]));
      const input = meta.inputTokenLogprobs!;
      assert.equal(input.length, tensors.input_ids.shape.reduce((a, b) => a * b, 1));
      assert.equal(input[0][0], null);
      for (const [lp] of input.slice(1)) assert.ok(lp! <= 0 && Number.isFinite(lp), `input logprob ${lp}`);
    });
  }
});
