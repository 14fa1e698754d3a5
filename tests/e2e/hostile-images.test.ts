/**
 * Image sources that could hang or flood the engine, each beside 20 good requests: /dev/zero, a FIFO and a 3 GB
 * sparse file fail alone within one second with IMAGE_LOAD while the good requests give their solo output, and
 * memory stays within 300 MB of its start. Ten 9000x9000 PNGs at once stay within the decode budget plus 300 MB.
 * Engine options fence local files.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { GenerateResult } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN, assertSameOutput, casesByName, greedy, rejectsWith, settlesWithin } from "../helpers/engine-helpers.js";

const { one_image: oneImage } = casesByName(QWEN);
const MB = 1024 * 1024;

/** The highest resident memory seen while `work` runs, sampled every 20 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

describe("hostile image sources through the Engine", () => {
  let engine: Engine;
  let solo: GenerateResult;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "iris-hostile-"));
    engine = await Engine.create({ modelPath: modelDir(QWEN) });
    solo = await engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(8) });
  });
  after(async () => {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test("/dev/zero, a FIFO and a 3 GB sparse file each fail alone within one second beside 20 good requests", async () => {
    const fifo = join(dir, "pipe.png");
    execFileSync("mkfifo", [fifo]);
    const sparse = join(dir, "sparse.png");
    const fd = openSync(sparse, "w");
    ftruncateSync(fd, 3 * 1024 ** 3);
    closeSync(fd);
    const start = process.memoryUsage().rss;
    const { result: good, peak } = await peakRss(async () => {
      const good = Array.from({ length: 20 }, () => engine.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(8) }));
      for (const bad of ["/dev/zero", fifo, sparse]) {
        const started = performance.now();
        const failing = engine.generate({ prompt: oneImage.prompt, imageData: [bad], samplingParams: greedy(8) });
        await rejectsWith(settlesWithin(failing, 30_000, bad), "IMAGE_LOAD", /character device|named pipe|file too large/);
        const ms = performance.now() - started;
        assert.ok(ms < 1000, `${bad} failed after ${ms.toFixed(0)} ms`);
      }
      return Promise.all(good);
    });
    for (const out of good) assertSameOutput(out, solo, "a good request beside the bad ones");
    assert.ok(peak - start < 300 * MB, `memory rose ${((peak - start) / MB).toFixed(0)} MB`);
  });

  test("ten 9000x9000 PNGs at once stay within the decode budget plus 300 MB", async () => {
    const big = await sharp({ create: { width: 9000, height: 9000, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
    const start = process.memoryUsage().rss;
    const { result, peak } = await peakRss(() => Promise.all(Array.from({ length: 10 }, () =>
      engine.generate({ prompt: oneImage.prompt, imageData: [big], samplingParams: greedy(2) }))));
    assert.equal(result.length, 10);
    for (const out of result) assert.equal(out.outputIds.length, 2);
    const defaultBudget = 1024 * MB;
    assert.ok(peak - start < defaultBudget + 300 * MB, `memory rose ${((peak - start) / MB).toFixed(0)} MB`);
  });
});

test("imageLoad.maxPixels lowers the pixel limit; a bad imageLoad option is refused at creation", async () => {
  const strict = await Engine.create({ modelPath: modelDir(QWEN), preprocessWorkers: 0, imageLoad: { maxPixels: 10_000 } });
  try {
    await rejectsWith(strict.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(2) }), "IMAGE_LOAD", /exceeds the limit of 10000 \(option maxPixels\)/);
  } finally {
    await strict.shutdown();
  }
  await assert.rejects(Engine.create({ modelPath: modelDir(QWEN), imageLoad: { decodeMemoryMB: 0 } }), /decodeMemoryMB must be a positive number/);
  await assert.rejects(Engine.create({ modelPath: modelDir(QWEN), imageLoad: { allowedHosts: "example.com" as never } }), /allowedHosts must be an array/);
  // The names inside imageLoad are checked strictly too.
  await assert.rejects(Engine.create({ modelPath: modelDir(QWEN), imageLoad: { maxPixel: 10 } as never }), /maxPixel.*maxPixels/);
});

test("engine options fence image sources: local files off, or confined to directories", async () => {
  const off = await Engine.create({ modelPath: modelDir(QWEN), imageLoad: { allowLocalFiles: false } });
  try {
    await rejectsWith(off.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(2) }), "IMAGE_LOAD", /local file paths are turned off/);
  } finally {
    await off.shutdown();
  }
  const confined = await Engine.create({ modelPath: modelDir(QWEN), preprocessWorkers: 0, imageLoad: { localFileDirs: [tmpdir()] } });
  try {
    await rejectsWith(confined.generate({ prompt: oneImage.prompt, imageData: oneImage.imagePaths, samplingParams: greedy(2) }), "IMAGE_LOAD", /outside the directories/);
  } finally {
    await confined.shutdown();
  }
});
