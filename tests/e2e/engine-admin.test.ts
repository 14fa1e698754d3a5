/**
 * The engine's own methods and settings beside generate: flushCache and getServerInfo as SGLang has them, logLevel,
 * the kernels it reports, and the KV cache sized by need.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DEMO_MODEL_DIR } from "../../src/demo/demo-model.js";
import { Engine } from "../../src/engine/engine.js";
import { nativeCpuStatus } from "../../src/runtime/native.js";

const PROMPT = "<|im_start|>user\nhow many shapes are there in the picture?<|im_end|>\n<|im_start|>assistant\n";
const greedy = { maxNewTokens: 4, temperature: 0 };

describe("flushCache and getServerInfo", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: DEMO_MODEL_DIR, pageSize: 4, maxRunningRequests: 8 });
  });
  after(() => engine.shutdown());

  test("flushCache empties the prefix cache: a repeat after it computes the prompt again", async () => {
    const first = await engine.generate({ prompt: PROMPT, samplingParams: greedy });
    const cached = await engine.generate({ prompt: PROMPT, samplingParams: greedy });
    assert.ok(cached.metaInfo.cachedTokens > 0, "the repeat hits the prefix cache");
    const flushed = await engine.flushCache();
    assert.equal(flushed.success, true);
    assert.ok(flushed.freedPages > 0, `freed ${flushed.freedPages} pages`);
    const after = await engine.generate({ prompt: PROMPT, samplingParams: greedy });
    assert.equal(after.metaInfo.cachedTokens, 0);
    assert.deepEqual(after.outputIds, first.outputIds);
  });

  test("flushCache refuses while a request runs, and the request completes", async () => {
    const running = engine.generate({ prompt: PROMPT, samplingParams: { maxNewTokens: 200, ignoreEos: true } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await engine.flushCache();
    assert.equal(refused.success, false);
    assert.match(refused.message ?? "", /still (running|being prepared)/);
    assert.equal((await running).metaInfo.completionTokens, 200);
  });

  test("getServerInfo reports the resolved settings, limits, kernels, version and scheduler state", async () => {
    const info = await engine.getServerInfo();
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(info.version, pkg.version);
    assert.equal(info.modelPath, DEMO_MODEL_DIR);
    assert.equal(info.contextLength, 1024);
    assert.equal(info.maxReqInputLen, 1023);
    assert.equal(info.pageSize, 4);
    assert.equal(info.maxRunningRequests, 8);
    assert.equal(info.maxTotalNumTokens, engine.info.maxTotalTokens);
    assert.equal(info.logLevel, "error");
    assert.deepEqual(info.kernels, engine.info.kernels);
    assert.equal(info.internalStates.length, 1);
    assert.equal(info.internalStates[0].numRunning, 0);
    assert.ok(info.internalStates[0].numBatches > 0);
  });

  test("engine.info says which kernels run, as the runtime loaded them", () => {
    const status = nativeCpuStatus();
    assert.equal(engine.info.kernels.device, "cpu");
    assert.equal(engine.info.kernels.native, status.addon !== null);
    assert.match(engine.info.kernels.description, status.addon ? /^native C\+\+ \((avx512|avx2|portable), \d+ threads\)$/ : /^TypeScript \(/);
  });
});

describe("KV cache sized by need", () => {
  test("no more than contextLength x maxRunningRequests (in whole pages), within the budget", async () => {
    const small = await Engine.create({ modelPath: DEMO_MODEL_DIR, maxRunningRequests: 4, contextLength: 100, pageSize: 16 });
    try {
      // 100 tokens take 7 pages of 16: 112 tokens a request.
      assert.equal(small.info.maxTotalTokens, 4 * 112);
      const out = await small.generate({ prompt: PROMPT, samplingParams: greedy });
      assert.ok(out.outputIds.length > 0);
    } finally {
      await small.shutdown();
    }
    const budgeted = await Engine.create({ modelPath: DEMO_MODEL_DIR, kvCacheMemoryMB: 1 });
    try {
      // 1 MiB holds 341 tokens of this model's 3072 bytes (4 layers x K and V x 2 heads x 48 dims x 4 bytes): 21
      // pages of 16, one of them the padding page. The budget binds, and the whole cache stays inside it.
      assert.equal(budgeted.info.maxTotalTokens, 20 * 16);
      assert.ok(budgeted.info.kvCacheBytes <= 2 ** 20, `${budgeted.info.kvCacheBytes} bytes`);
    } finally {
      await budgeted.shutdown();
    }
  });
});

describe("logLevel", () => {
  test("info logs the load with the kernels; debug adds each request; the default error logs nothing", async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      for (const logLevel of ["error", "info", "debug"] as const) {
        lines.length = 0;
        const engine = await Engine.create({ modelPath: DEMO_MODEL_DIR, logLevel, maxRunningRequests: 2 });
        await engine.generate({ prompt: PROMPT, samplingParams: greedy, rid: "logged" });
        await engine.shutdown();
        const text = lines.join("");
        if (logLevel === "error") assert.equal(text, "");
        else assert.match(text, /\[iris [^\]]+\] INFO loaded .*shapes-vlm in [\d.]+ s: 4\.\dM parameters .* kernels: (native C\+\+|TypeScript)/);
        if (logLevel === "debug") assert.match(text, /DEBUG request logged: \d+ prompt tokens, 0 images, queued[\s\S]*DEBUG request logged: \{"type":"(length|stop)"/);
        else assert.doesNotMatch(text, /DEBUG/);
      }
    } finally {
      process.stderr.write = write;
    }
  });
});
