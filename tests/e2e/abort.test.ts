import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Engine } from "../../src/engine/engine.js";
import { isIrisError } from "../../src/core/errors.js";
import { loadCases, modelDir } from "../helpers/fixtures.js";

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

test("an abort that comes while the request's image is still downloading ends it too", async () => {
  const picture = readFileSync(loadCases("tiny-qwen2_5-vl")[0].imagePaths[0]);
  let served = 0;
  const server = createServer((_, res) => {
    // Answer slowly, so the abort arrives while the request is being prepared.
    setTimeout(() => {
      served++;
      res.writeHead(200, { "content-type": "image/png" }).end(picture);
    }, 500);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/picture.png`;
  const engine = await Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl") });
  try {
    const pending = engine.generate({ prompt: "<|vision_start|><|image_pad|><|vision_end|>Hi", imageData: [url], rid: "slow", samplingParams: { maxNewTokens: 50 } });
    engine.abort("slow");
    await assert.rejects(pending, (e) => isIrisError(e, "ABORTED"));
    assert.equal(served, 1, "the download itself finished");
    const next = await engine.generate({ prompt: "Hello", samplingParams: { temperature: 0, maxNewTokens: 2 }, rid: "slow" });
    assert.equal(next.outputIds.length, 2, "the rid is free again");
  } finally {
    await engine.shutdown();
    server.close();
  }
});
