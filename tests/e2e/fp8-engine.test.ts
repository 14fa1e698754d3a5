/**
 * `quantization: "fp8"` through the Engine: the option is taken (SGLang's name and value), the memory plan and server
 * info report it with the FP8 bytes, the engine's greedy tokens come from the FP8 model (its first token is the
 * argmax of the FP8 forward pass outside the engine), other values are refused, and Scout's FP8 plan is still too
 * large for a small machine's cpu device, with a message that says which weights.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { toNumbers } from "../../src/core/host-tensor.js";
import { isIrisError } from "../../src/core/errors.js";
import { Engine } from "../../src/engine/engine.js";
import type { EngineOptions } from "../../src/engine/engine-options.js";
import type { MemoryPlan } from "../../src/engine/protocol.js";
import { weightFootprint } from "../../src/models/weight-footprint.js";
import { downloadFloat32 } from "../../src/runtime/creation.js";
import { getDevice } from "../../src/runtime/device.js";
import { loadCases, loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { loadFixtureModel, promptLogits } from "../helpers/model-harness.js";

for (const fixture of ["tiny-llama4", "tiny-qwen2_5-vl"] as const) {
  test(`${fixture}: the FP8 engine plans FP8 bytes and decodes with the FP8 model`, async () => {
    const plans: MemoryPlan[] = [];
    const engine = await Engine.create({ modelPath: modelDir(fixture), quantization: "fp8", maxTotalTokens: 2048, onMemoryPlan: (p) => plans.push(p) });
    try {
      const { model, config } = loadFixtureModel(fixture, getDevice("cpu"), undefined, "fp8");
      assert.equal(plans[0].quantization, "fp8");
      assert.equal(plans[0].weightBytes, weightFootprint(config, 4, undefined, "fp8").bytes);
      assert.ok(plans[0].weightBytes < weightFootprint(config, 4).bytes);
      assert.equal((await engine.getServerInfo()).quantization, "fp8");
      const c = loadCases(fixture).find((x) => x.name === "text_only")!;
      const ids = Int32Array.from(toNumbers(loadCaseTensors(fixture, c.name).input_ids));
      const out = await engine.generate({ prompt: c.prompt, samplingParams: { temperature: 0, maxNewTokens: 4, ignoreEos: true } });
      assert.equal(out.outputIds.length, 4);
      const rows = model.positionRows;
      const positions = Int32Array.from({ length: ids.length * rows }, (_, i) => Math.floor(i / rows));
      const logits = await downloadFloat32(promptLogits(model, ids, positions, null));
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
      assert.equal(out.outputIds[0], best);
    } finally {
      await engine.shutdown();
    }
  });
}

test("quantization takes fp8 only", async () => {
  await assert.rejects(Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl"), quantization: "int8" } as unknown as EngineOptions),
    (e) => isIrisError(e, "INVALID_ARGUMENT") && /quantization must be "fp8"/.test(e.message));
});

test("Scout in FP8 plans 1 byte per FP8 weight and is still refused on a small machine's cpu device", async () => {
  const plans: MemoryPlan[] = [];
  await assert.rejects(
    Engine.create({ modelPath: modelDir("llama4-scout-shape"), loadFormat: "dummy", quantization: "fp8", onMemoryPlan: (p) => plans.push(p) }),
    (e) => isIrisError(e, "OUT_OF_MEMORY") && /GiB of FP8 and float32 weights/.test(e.message),
  );
  assert.equal(plans[0].parameters, 108_641_793_536);
  assert.ok(plans[0].weightBytes < 0.3 * 4 * 108_641_793_536, `${plans[0].weightBytes} bytes`);
});
