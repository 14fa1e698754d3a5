import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Engine } from "../../src/engine/engine.js";
import { isIrisError } from "../../src/core/errors.js";
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

/** A server that accepts image requests and never answers; `closed` counts requests whose connection the client dropped. */
async function hangingServer(): Promise<{ url: string; requests: () => number; closed: () => number; stop: () => void }> {
  let requests = 0, closed = 0;
  const server = createServer((req) => {
    requests++;
    req.socket.on("close", () => closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/picture.png`;
  return { url, requests: () => requests, closed: () => closed, stop: () => {
    server.closeAllConnections();
    server.close();
  } };
}

const untilTrue = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
};

test("an abort while the request's image downloads cancels the download and rejects with ABORTED at once", async () => {
  const server = await hangingServer();
  const engine = await Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl") });
  try {
    const started = performance.now();
    const pending = engine.generate({ prompt: "<|vision_start|><|image_pad|><|vision_end|>Hi", imageData: [server.url], rid: "slow", samplingParams: { maxNewTokens: 50 } });
    await untilTrue(() => server.requests() === 1);
    engine.abort("slow");
    await assert.rejects(pending, (e) => isIrisError(e, "ABORTED"));
    // The download's own time limit is 10 s; an abort that waited for it would take that long.
    assert.ok(performance.now() - started < 5_000, "rejected long before the download's time limit");
    await untilTrue(() => server.closed() === 1);
    const next = await engine.generate({ prompt: "Hello", samplingParams: { temperature: 0, maxNewTokens: 2 }, rid: "slow" });
    assert.equal(next.outputIds.length, 2, "the rid is free again");
  } finally {
    await engine.shutdown();
    server.stop();
  }
});

for (const preprocessWorkers of [0, 2]) {
  test(`shutdown rejects requests still being prepared with ENGINE_SHUTDOWN at once (preprocessWorkers ${preprocessWorkers})`, async () => {
    const server = await hangingServer();
    const engine = await Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl"), preprocessWorkers });
    try {
      const prompt = "<|vision_start|><|image_pad|><|vision_end|>Hi";
      const pending = [1, 2, 3].map((i) => engine.generate({ prompt, imageData: [`${server.url}?${i}`], samplingParams: { maxNewTokens: 5 } }));
      await untilTrue(() => server.requests() === 3);
      const started = performance.now();
      const stopping = engine.shutdown();
      for (const p of pending) await assert.rejects(p, (e) => isIrisError(e, "ENGINE_SHUTDOWN"));
      assert.ok(performance.now() - started < 5_000, "rejected without waiting for the downloads");
      await stopping;
      await assert.rejects(engine.generate({ prompt: "Hello" }), (e) => isIrisError(e, "ENGINE_SHUTDOWN"));
    } finally {
      await engine.shutdown();
      server.stop();
    }
  });
}
