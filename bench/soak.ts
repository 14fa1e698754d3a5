/**
 * Memory soak: `--requests` mixed requests (default 50,000) on the bundled demo model with the default prefix cache,
 * `--concurrency` in flight at a time, and the process's resident memory sampled as they complete, to show where it
 * levels off. The mix: questions about drawn pictures (decoded pixels, PNG bytes and PNG files; a pool of pictures,
 * so the prefix cache both hits and evicts), text only, small batches, streams, aborts and bad requests (a missing
 * file, a FIFO-free bad path, bad sampling parameters), with short random outputs. Prints one JSON object.
 *
 *   node --import tsx bench/soak.ts [--requests 50000] [--concurrency 32] [--pictures 300] [--samples 50] [--seed 1]
 *     [--kv-cache-mb N]
 */
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import type { ImageInput } from "../src/core/request.js";
import { isIrisError } from "../src/core/errors.js";
import { Engine } from "../src/engine/engine.js";
import { DEMO_MODEL_DIR, asDecodedImage, demoPrompt } from "../src/demo/demo-model.js";
import { generateScene, heldOutSeeds, questionsFor, renderScene } from "../src/demo/shapes/index.js";
import { runInfo } from "./run-info.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "50000" },
    concurrency: { type: "string", default: "32" },
    pictures: { type: "string", default: "300" },
    samples: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
    /** The KV cache's memory (the engine's default when not given): the prefix cache holds at most this much. */
    "kv-cache-mb": { type: "string" },
  },
});
const total = Number(values.requests);
const concurrency = Number(values.concurrency);
const sampleEvery = Math.max(1, Math.floor(total / Number(values.samples)));

let state = Number(values.seed) >>> 0;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

// ==== The pictures: each as decoded pixels, PNG bytes and a PNG file ====
const dir = mkdtempSync(join(tmpdir(), "iris-soak-"));
const pictures = await Promise.all(heldOutSeeds(Number(values.pictures)).map(async (seed, i) => {
  const scene = generateScene(seed);
  const image = renderScene(scene);
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
  const path = join(dir, `picture-${i}.png`);
  writeFileSync(path, png);
  return { forms: [asDecodedImage(image), new Uint8Array(png), path] as ImageInput[], questions: questionsFor(scene).map((qa) => qa.question) };
}));

const kvCacheMemoryMB = values["kv-cache-mb"] === undefined ? undefined : Number(values["kv-cache-mb"]);
const engine = await Engine.create({ modelPath: DEMO_MODEL_DIR, device: "cpu", kvCacheMemoryMB });
const counts: Record<string, number> = {};
const errors: Record<string, number> = {};
const count = (kind: string) => (counts[kind] = (counts[kind] ?? 0) + 1);

/** One request of the mix; resolves when it settled, whatever its outcome. */
async function one(i: number): Promise<void> {
  const picture = pick(pictures);
  const question = pick(picture.questions);
  const samplingParams = { temperature: random() < 0.5 ? 0 : 0.8, maxNewTokens: 1 + Math.floor(random() * 16) };
  const roll = random();
  try {
    if (roll < 0.55) {
      count("image");
      await engine.generate({ prompt: demoPrompt(question), imageData: [pick(picture.forms)], samplingParams });
    } else if (roll < 0.65) {
      count("text");
      await engine.generate({ prompt: `Question ${i % 97}: ${question}`, samplingParams });
    } else if (roll < 0.75) {
      count("batch");
      const other = pick(pictures);
      await engine.generate({ prompt: [demoPrompt(question), demoPrompt(pick(other.questions))], imageData: [[picture.forms[0]], [other.forms[1]]], samplingParams });
    } else if (roll < 0.85) {
      count("stream");
      for await (const chunk of engine.generateStream({ prompt: demoPrompt(question), imageData: [picture.forms[1]], samplingParams })) void chunk;
    } else if (roll < 0.93) {
      count("abort");
      const rid = `soak-abort-${i}`;
      const pending = engine.generate({ prompt: demoPrompt(question), imageData: [picture.forms[2]], rid, samplingParams: { ...samplingParams, maxNewTokens: 64 } });
      setTimeout(() => engine.abort(rid), Math.floor(random() * 20));
      await pending;
    } else {
      count("bad");
      const bad = random() < 0.5
        ? engine.generate({ prompt: demoPrompt(question), imageData: [join(dir, "missing.png")] })
        : engine.generate({ prompt: question, samplingParams: { temperature: -1 } });
      await bad;
    }
  } catch (err) {
    const code = isIrisError(err) ? err.code : "UNTYPED";
    errors[code] = (errors[code] ?? 0) + 1;
  }
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const samples: { done: number; seconds: number; rssMB: number; heapUsedMB: number; externalMB: number }[] = [];
const started = performance.now();
let next = 0, done = 0;
const sample = () => {
  const m = process.memoryUsage();
  samples.push({ done, seconds: Math.round((performance.now() - started) / 100) / 10, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external + m.arrayBuffers) });
};
sample();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < total) {
    await one(next++);
    if (++done % sampleEvery === 0) {
      sample();
      if (process.stderr.isTTY || process.env.SOAK_PROGRESS) process.stderr.write(`${done}/${total} rss ${samples.at(-1)!.rssMB} MB\n`);
    }
  }
}));
const seconds = (performance.now() - started) / 1000;
await engine.shutdown();
rmSync(dir, { recursive: true, force: true });

// Where resident memory levels: the samples of the last half, their spread and their drift per 10,000 requests
// (the least-squares slope, so one noisy sample does not decide it).
const tail = samples.slice(Math.floor(samples.length / 2));
const rss = tail.map((s) => s.rssMB);
const meanX = tail.reduce((a, s) => a + s.done, 0) / tail.length;
const meanY = rss.reduce((a, b) => a + b, 0) / rss.length;
const sxx = tail.reduce((a, s) => a + (s.done - meanX) ** 2, 0);
const drift = sxx > 0 ? (tail.reduce((a, s, i) => a + (s.done - meanX) * (rss[i] - meanY), 0) / sxx) * 10_000 : 0;
console.log(JSON.stringify({
  bench: "soak",
  ...runInfo(import.meta.url),
  model: "models/shapes-vlm",
  requests: total,
  concurrency,
  kvCacheMemoryMB: kvCacheMemoryMB ?? "default (512)",
  pictures: pictures.length,
  seconds: Math.round(seconds),
  requestsPerSecond: Math.round((total / seconds) * 10) / 10,
  mix: counts,
  errors,
  rssStartMB: samples[0].rssMB,
  rssPeakMB: Math.max(...samples.map((s) => s.rssMB)),
  rssLevel: { fromRequest: tail[0]?.done, minMB: Math.min(...rss), maxMB: Math.max(...rss), lastMB: rss.at(-1), meanMB: Math.round(meanY), driftMBPer10kRequests: Math.round(drift * 10) / 10 },
  samples,
}, null, 1));
