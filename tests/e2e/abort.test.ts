import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";

test("abort ends a running request with ABORTED; the engine goes on", async () => {
  const engine = await Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl") });
  try {
    const params = { temperature: 0, maxNewTokens: 200, ignoreEos: true };
    const long = engine.generateStream({ prompt: "Tell me a long story.", samplingParams: params, rid: "long-one" });
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of long) {
          if (++chunks === 2) engine.abort("long-one");
          if (chunk.metaInfo.finishReason?.type === "abort") throw Object.assign(new Error(chunk.metaInfo.finishReason.message), { code: chunk.metaInfo.finishReason.code });
        }
      })(),
      (e: Error & { code?: string }) => e.code === "ABORTED",
    );
    assert.ok(chunks < 200, "the request stopped early");
    const after = engine.generate({ prompt: "Hello", samplingParams: { temperature: 0, maxNewTokens: 3 }, rid: "after" });
    assert.equal((await after).outputIds.length, 3);
  } finally {
    await engine.shutdown();
  }
});
