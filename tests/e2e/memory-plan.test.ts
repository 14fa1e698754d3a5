import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import { isIrisError } from "../../src/core/errors.js";
import type { MemoryPlan } from "../../src/engine/protocol.js";
import { modelDir } from "../helpers/fixtures.js";

test("Scout's memory need is reported before any weight is allocated, and refused on a small machine", async () => {
  const plans: MemoryPlan[] = [];
  await assert.rejects(
    Engine.create({ modelPath: modelDir("llama4-scout-shape"), loadFormat: "dummy", onMemoryPlan: (p) => plans.push(p) }),
    (e) => isIrisError(e, "OUT_OF_MEMORY") && /GiB of float32 weights/.test(e.message),
  );
  assert.equal(plans.length, 1);
  assert.equal(plans[0].parameters, 108_641_793_536);
  assert.equal(plans[0].weightBytes, 4 * 108_641_793_536);
});

test("the tiny model's plan matches what it loads", async () => {
  const plans: MemoryPlan[] = [];
  const engine = await Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl"), maxTotalTokens: 4096, onMemoryPlan: (p) => plans.push(p) });
  try {
    assert.equal(plans.length, 1);
    assert.equal(engine.info.parameters, plans[0].parameters);
    assert.equal(engine.info.maxTotalTokens, plans[0].maxTotalTokens, "the plan reports the capacity requests get");
    assert.ok(engine.info.maxTotalTokens >= 4096);
    // 4 layers, 2 KV heads of 16, K and V, float32; the allocation holds one padding page (16 tokens) more.
    assert.equal(plans[0].kvCacheBytes, (plans[0].maxTotalTokens + 16) * 4 * 2 * 2 * 16 * 4);
  } finally {
    await engine.shutdown();
  }
});
