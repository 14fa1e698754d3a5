/**
 * Load on `iris serve`: `--requests` chat requests (default 1,000) from `--concurrency` clients at a time (64) against
 * the bundled demo model served by a separate `iris serve` process, as an HTTP client sends them: questions about
 * drawn pictures as data URLs, half of them streamed, 10% cancelled mid-stream (the client drops the connection
 * after the first content chunk) and 5% with a broken image. Checks: every good answer equals the offline engine's
 * greedy answer to the same question, every broken one is a 400 with IMAGE_LOAD, no request hangs or is lost, the
 * server's memory is flat after warm-up (its resident memory sampled from its own /metrics), and the server is idle
 * at the end (nothing running, KV pages back). Reports p50/p99 time to first token (streamed requests, at the
 * client) and requests per second. Prints one JSON object.
 *
 *   npm run build && node --import tsx bench/serve-load.ts [--requests 1000] [--concurrency 64] [--scenes 40]
 *     [--device cpu] [--seed 1] [--kv-cache-mb N]
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { demoGeneratorVersion, DEMO_MODEL_DIR } from "../src/demo/demo-model.js";
import { generateDrawing } from "../src/demo/shapes/drawing-scene.js";
import { renderDrawing } from "../src/demo/shapes/drawing-render.js";
import type { DrawingScene } from "../src/demo/shapes/drawing-types.js";
import { generateScene, heldOutSeeds, questionsFor, renderScene, type Scene } from "../src/demo/shapes/index.js";
import { Engine } from "../src/engine/engine.js";
import { runInfo } from "./run-info.js";
import { percentile, slopePer, type LoadOutcome, type Kind } from "./serve-load-stats.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "64" },
    scenes: { type: "string", default: "40" },
    device: { type: "string", default: "cpu" },
    seed: { type: "string", default: "1" },
    "kv-cache-mb": { type: "string" },
  },
});
const total = Number(values.requests);
const concurrency = Number(values.concurrency);
const device = values.device as "cpu" | "cuda";
const MAX_TOKENS = 32;
/**
 * Requests before this many have completed are warm-up: memory is judged after it. The first half, because resident
 * memory grows while the prefix cache fills with the pictures' KV pages (touched for the first time), which takes a
 * few hundred requests over the default 40 pictures.
 */
const WARMUP = Math.floor(total / 2);
const REQUEST_TIMEOUT_MS = 180_000;

let state = Number(values.seed) >>> 0;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);

// ==== The pictures, the questions, and the offline engine's greedy answers ====
const pairs: { image: string; question: string }[] = [];
for (const seed of heldOutSeeds(Number(values.scenes), 20_000)) {
  // Drawn by the bundled checkpoint's own generator, as iris demo draws them.
  const scene = demoGeneratorVersion() === 1 ? generateScene(seed) : generateDrawing(seed);
  const picture = demoGeneratorVersion() === 1 ? renderScene(scene as Scene) : await renderDrawing(scene as DrawingScene);
  const png = await sharp(picture.data, { raw: { width: picture.width, height: picture.height, channels: 3 } }).png().toBuffer();
  const image = `data:image/png;base64,${png.toString("base64")}`;
  for (const qa of questionsFor(scene)) pairs.push({ image, question: qa.question });
}
const offline = await Engine.create({ modelPath: DEMO_MODEL_DIR, device });
const expected: string[] = [];
try {
  // The server renders the model's own chat template; the offline answer goes through the same template's text.
  const { ChatPromptBuilder } = await import("../src/server/chat-prompt.js");
  const prompts = ChatPromptBuilder.create(DEMO_MODEL_DIR, undefined);
  const results = await offline.generate({
    prompt: pairs.map((p) => prompts.build(messagesOf(p.image, p.question)).prompt),
    imageData: pairs.map((p) => [p.image]),
    samplingParams: { temperature: 0, maxNewTokens: MAX_TOKENS },
  });
  for (const r of results) expected.push(r.text);
} finally {
  await offline.shutdown();
}
const broken = `data:image/png;base64,${Buffer.from("\x89PNG\r\n\x1a\n this is not a picture").toString("base64")}`;

// ==== The server, in its own process ====
const root = fileURLToPath(new URL("..", import.meta.url));
const builtCli = `${root}dist/cli/main.js`;
const serverArgs = ["serve", "--model", DEMO_MODEL_DIR, "--port", "0", "--device", device, "--log-level", "warning",
  ...(values["kv-cache-mb"] ? ["--kv-cache-memory-mb", values["kv-cache-mb"]] : [])];
const server = spawn(process.execPath, existsSync(builtCli) ? [builtCli, ...serverArgs] : ["--import", "tsx", `${root}src/cli/main.ts`, ...serverArgs], { stdio: ["ignore", "ignore", "pipe"] });
let serverLog = "";
server.stderr.on("data", (d: Buffer) => (serverLog += d.toString()));
const url = await new Promise<string>((resolve, reject) => {
  server.stderr.on("data", () => {
    const match = /listening on (http:\/\/[\d.:]+)/.exec(serverLog);
    if (match) resolve(match[1]);
  });
  server.on("exit", (code) => reject(new Error(`iris serve exited with ${code}:\n${serverLog}`)));
});
const metric = async (name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
};

// ==== The load ====
function messagesOf(image: string, question: string) {
  return [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }, { type: "text", text: question }] }];
}

async function one(i: number): Promise<LoadOutcome> {
  const r = random();
  const kind: Kind = r < 0.05 ? "broken" : r < 0.15 ? "cancel" : random() < 0.5 ? "stream" : "plain";
  const pair = Math.floor(random() * pairs.length);
  const stream = kind === "cancel" || kind === "stream" || (kind === "broken" && i % 2 === 0);
  // A request to be cancelled runs its full length (ignore_eos), so the client's drop lands mid-generation rather
  // than after a two-token answer has already been sent.
  const body = { messages: messagesOf(kind === "broken" ? broken : pairs[pair].image, pairs[pair].question), temperature: 0, max_tokens: MAX_TOKENS, stream,
    ...(kind === "cancel" && { ignore_eos: true }) };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("hung")), REQUEST_TIMEOUT_MS);
  const started = performance.now();
  let cancelTtft: number | undefined;
  try {
    const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: controller.signal });
    if (!response.ok) {
      const error = ((await response.json()) as { error: { code: string } }).error;
      return { kind, status: response.status, code: error.code, ms: performance.now() - started };
    }
    if (!stream) {
      const json = (await response.json()) as { choices: { message: { content: string } }[] };
      return { kind, status: 200, ok: json.choices[0].message.content === expected[pair], ms: performance.now() - started };
    }
    let text = "";
    let ttft: number | undefined;
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const bytes of response.body!) {
      buffer += decoder.decode(bytes as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end).replace(/^data: /, "");
        buffer = buffer.slice(end + 2);
        if (event === "[DONE]") continue;
        const delta = (JSON.parse(event) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "";
        if (delta !== "" && ttft === undefined) ttft = performance.now() - started;
        text += delta;
      }
      if (kind === "cancel" && ttft !== undefined) {
        cancelTtft = ttft;
        controller.abort(new Error("cancelled"));
        return { kind, status: 200, cancelled: true, ttftMs: ttft, ms: performance.now() - started };
      }
    }
    return { kind, status: 200, ok: text === expected[pair], ttftMs: ttft, ms: performance.now() - started };
  } catch (err) {
    const reason = controller.signal.aborted ? (controller.signal.reason as Error).message : undefined;
    // Dropping the connection mid-stream ends the body's iteration with the abort: that is the cancellation itself.
    if (reason === "cancelled") return { kind, status: 200, cancelled: true, ttftMs: cancelTtft, ms: performance.now() - started };
    const hung = reason === "hung";
    return { kind, status: 0, error: hung ? "hung" : (err as Error).message, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

const outcomes: LoadOutcome[] = [];
const memory: { done: number; rssMB: number; heapUsedMB: number }[] = [];
let next = 0;
let sampling = Promise.resolve();
const sampleEvery = Math.max(1, Math.floor(total / 50));
const loadAtStart = loadavg().map((l) => Math.round(l * 10) / 10);
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < total) {
    const i = next++;
    outcomes.push(await one(i));
    if (outcomes.length % sampleEvery === 0) {
      const done = outcomes.length;
      sampling = sampling.then(async () => {
        memory.push({ done, rssMB: Math.round((await metric("iris_process_resident_memory_bytes")) / 2 ** 20), heapUsedMB: Math.round((await metric("iris_nodejs_heap_size_used_bytes")) / 2 ** 20) });
      });
    }
  }
}));
const seconds = (performance.now() - started) / 1000;
await sampling;

// ==== The end state: nothing left running, KV pages back ====
await new Promise((r) => setTimeout(r, 500));
const info = (await (await fetch(`${url}/get_server_info`)).json()) as { internal_states: { num_running: number; num_waiting: number; free_pages: number; cached_pages: number }[]; max_total_num_tokens: number; page_size: number };
const cancelledByServer = await metric('iris_requests_total{endpoint="chat_completions",outcome="cancelled"}');
server.kill("SIGTERM");
const exitCode = await new Promise<number | null>((resolve) => server.on("exit", resolve));

const count = (f: (o: LoadOutcome) => boolean) => outcomes.filter(f).length;
const good = outcomes.filter((o) => o.kind === "stream" || o.kind === "plain");
const ttfts = outcomes.flatMap((o) => (o.ttftMs === undefined ? [] : [o.ttftMs]));
const afterWarmup = memory.filter((m) => m.done > WARMUP);
const rss = afterWarmup.map((m) => m.rssMB);
const state0 = info.internal_states[0];
const summary = {
  requests: outcomes.length,
  good: { sent: good.length, answered: count((o) => (o.kind === "stream" || o.kind === "plain") && o.status === 200),
    equalToOffline: count((o) => o.ok === true), different: count((o) => o.ok === false), failed: count((o) => (o.kind === "stream" || o.kind === "plain") && o.status !== 200) },
  cancelled: { sent: count((o) => o.kind === "cancel"), cancelledMidStream: count((o) => o.cancelled === true), serverCountedCancelled: cancelledByServer,
    finishedBeforeCancel: count((o) => o.kind === "cancel" && o.ok !== undefined) },
  broken: { sent: count((o) => o.kind === "broken"), answered400ImageLoad: count((o) => o.kind === "broken" && o.status === 400 && o.code === "IMAGE_LOAD") },
  hungOrLost: count((o) => o.error !== undefined) + (total - outcomes.length),
  errors: [...new Set(outcomes.flatMap((o) => (o.error && o.error !== "hung" ? [o.error] : [])))].slice(0, 5),
  ttftMs: { streamedRequests: ttfts.length, p50: percentile(ttfts, 50), p99: percentile(ttfts, 99) },
  latencyMs: { p50: percentile(outcomes.map((o) => o.ms), 50), p99: percentile(outcomes.map((o) => o.ms), 99) },
  requestsPerSecond: Math.round((outcomes.length / seconds) * 10) / 10,
  seconds: Math.round(seconds * 10) / 10,
  serverMemory: {
    warmupRequests: WARMUP,
    rssMBAtWarmupEnd: rss[0], rssMBAtEnd: rss.at(-1), rssMBMin: Math.min(...rss), rssMBMax: Math.max(...rss),
    rssDriftMBPer1000Requests: Math.round(slopePer(afterWarmup.map((m) => m.done), rss, 1000) * 10) / 10,
    mainHeapUsedMB: { min: Math.min(...afterWarmup.map((m) => m.heapUsedMB)), max: Math.max(...afterWarmup.map((m) => m.heapUsedMB)) },
    samples: memory,
  },
  endState: { running: state0.num_running, waiting: state0.num_waiting, freePlusCachedPages: state0.free_pages + state0.cached_pages,
    totalPages: Math.floor(info.max_total_num_tokens / info.page_size), serverExitCodeOnSigterm: exitCode },
};
const pass = summary.good.equalToOffline === summary.good.sent && summary.broken.answered400ImageLoad === summary.broken.sent
  && summary.hungOrLost === 0 && summary.endState.running === 0 && summary.endState.waiting === 0 && exitCode === 0;
// The machine is shared: its load average says how much of it the run had.
console.log(JSON.stringify({ ...runInfo(import.meta.url), loadAverage: { atStart: loadAtStart, atEnd: loadavg().map((l) => Math.round(l * 10) / 10) },
  device, concurrency, maxTokens: MAX_TOKENS, pairs: pairs.length, pass, ...summary }, null, 2));
