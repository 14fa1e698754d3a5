/**
 * `iris serve`: one engine behind an OpenAI- and SGLang-compatible HTTP server (src/server). Images from clients
 * never read this machine's files unless `--allowed-local-media-path` names a directory, and never reach loopback
 * or private addresses unless `--allow-private-image-urls`; SIGTERM (or Ctrl-C) drains: no new requests, those in
 * flight finish within `--shutdown-timeout`, then the engine stops and the process exits 0.
 */
import type { Command } from "commander";
import { IrisError } from "../core/errors.js";
import { Engine } from "../engine/engine.js";
import type { EngineOptions } from "../engine/engine-options.js";
import { isLogLevel, createLogger, type LogLevel } from "../utils/logger.js";
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_QUEUED_REQUESTS, DEFAULT_PORT, IrisServer } from "../server/server.js";

interface ServeFlags {
  model: string;
  host: string;
  port: number;
  apiKey?: string;
  servedModelName?: string;
  chatTemplate?: string;
  device?: "cpu" | "cuda";
  loadFormat?: "auto" | "dummy";
  quantization?: "fp8";
  contextLength?: number;
  maxRunningRequests?: number;
  maxTotalTokens?: number;
  kvCacheMemoryMb?: number;
  memFractionStatic?: number;
  visionTokenBudget?: number;
  disableCudaGraph?: boolean;
  cudaGraphMaxBs?: number;
  tpSize?: number;
  pageSize?: number;
  chunkedPrefillSize?: number;
  disableRadixCache?: boolean;
  disableOverlapSchedule?: boolean;
  randomSeed?: number;
  preprocessWorkers?: number;
  logLevel: string;
  maxQueuedRequests: number;
  maxBodyMb?: number;
  shutdownTimeout: number;
  allowedLocalMediaPath?: string;
  allowedImageHosts: string[];
  allowPrivateImageUrls?: boolean;
  imageMaxMb?: number;
  imageTimeout?: number;
  imageMaxPixels?: number;
}

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new IrisError("INVALID_ARGUMENT", `not a non-negative integer: ${value}`);
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new IrisError("INVALID_ARGUMENT", `not a positive number: ${value}`);
  return n;
};
const list = (value: string, all: string[]) => [...all, ...value.split(",").map((s) => s.trim()).filter(Boolean)];

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve the model over HTTP: OpenAI's /v1/chat/completions, /v1/completions, /v1/models and SGLang's /generate")
    .requiredOption("--model <dir>", "model directory (Hugging Face layout)")
    .option("--host <host>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--port <port>", `port to listen on (0: any free port)`, integer, DEFAULT_PORT)
    .option("--api-key <key>", "require Authorization: Bearer <key> on every route but /health (or set IRIS_API_KEY)")
    .option("--served-model-name <name>", "the model name clients send (default: the model directory's name)")
    .option("--chat-template <name>", "a built-in chat template for chat requests (default: the model's own)")
    .option("--device <device>", "cpu, or cuda where the cuda addon is built")
    .option("--load-format <format>", "auto, or dummy for random weights")
    .option("--quantization <fp8>", "the decoder's weights in FP8, quantized while loading")
    .option("--context-length <n>", "longest prompt + output (default: the model's)", integer)
    .option("--max-running-requests <n>", "requests decoded together at most (default 256)", integer)
    .option("--max-total-tokens <n>", "KV cache capacity in tokens", integer)
    .option("--kv-cache-memory-mb <n>", "memory for the KV cache when --max-total-tokens is not given", integer)
    .option("--mem-fraction-static <f>", "cuda: the share of GPU memory for weights and KV cache (default 0.88)", positive)
    .option("--page-size <n>", "tokens per KV page", integer)
    .option("--vision-token-budget <n>", "vision tokens encoded together in one pass at most", integer)
    .option("--disable-cuda-graph", "cuda: run decode steps eagerly")
    .option("--cuda-graph-max-bs <n>", "cuda: the largest decode batch captured as a graph", integer)
    .option("--tp-size <n>", "GPUs for tensor parallelism", integer)
    .option("--chunked-prefill-size <n>", "most tokens computed in one step", integer)
    .option("--disable-radix-cache", "turn off prefix caching")
    .option("--disable-overlap-schedule", "turn off the overlap of host and device work")
    .option("--random-seed <n>", "seed of requests that give none", integer)
    .option("--preprocess-workers <n>", "threads that load and preprocess images", integer)
    .option("--log-level <level>", "debug, info, warning or error", "info")
    .option("--max-queued-requests <n>", "requests waiting beyond the running batch before 503", integer, DEFAULT_MAX_QUEUED_REQUESTS)
    .option("--max-body-mb <n>", `largest request body in MiB (default ${DEFAULT_MAX_BODY_BYTES / 2 ** 20})`, positive)
    .option("--shutdown-timeout <seconds>", "on SIGTERM, time given to requests in flight before they are aborted", positive, 30)
    .option("--allowed-local-media-path <dir>", "let image strings name files under this directory (none by default)")
    .option("--allowed-image-hosts <hosts>", "image URLs may reach only these hosts (comma-separated, repeatable)", list, [])
    .option("--allow-private-image-urls", "let image URLs reach loopback and private addresses")
    .option("--image-max-mb <n>", "largest image download or file, in MiB", positive)
    .option("--image-timeout <seconds>", "time limit of one image download", positive)
    .option("--image-max-pixels <n>", "largest image, in pixels", integer)
    .action(async (flags: ServeFlags) => runServe(flags));
}

async function runServe(flags: ServeFlags): Promise<void> {
  if (!isLogLevel(flags.logLevel)) throw new IrisError("INVALID_ARGUMENT", `--log-level must be debug, info, warning or error, got ${flags.logLevel}`);
  const log = createLogger(flags.logLevel as LogLevel);
  const engine = await Engine.create(engineOptions(flags));
  let server: IrisServer;
  try {
    server = await IrisServer.start(engine, {
      modelPath: flags.model, host: flags.host, port: flags.port, apiKey: flags.apiKey ?? process.env.IRIS_API_KEY,
      servedModelName: flags.servedModelName, chatTemplate: flags.chatTemplate, maxQueuedRequests: flags.maxQueuedRequests,
      maxBodyBytes: flags.maxBodyMb === undefined ? undefined : Math.round(flags.maxBodyMb * 2 ** 20), log,
    });
  } catch (err) {
    await engine.shutdown();
    throw err;
  }
  // Tests and scripts wait for this line; it names the actual port (with --port 0).
  console.error(`iris serve: listening on ${server.url} (model ${flags.model}, ${engine.info.kernels.device})`);
  await new Promise<void>((resolveStopped) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        console.error(`iris serve: ${signal} again, exiting now`);
        process.exit(1);
      }
      stopping = true;
      console.error(`iris serve: ${signal}: draining (up to ${flags.shutdownTimeout} s)`);
      void server.close(flags.shutdownTimeout * 1000)
        .then(({ finished, aborted }) => console.error(`iris serve: ${finished ? "every request finished" : `${aborted} requests aborted at the deadline`}; stopping the engine`))
        .then(() => engine.shutdown())
        .then(resolveStopped, (err: unknown) => {
          console.error(`iris serve: error while stopping: ${(err as Error).message}`);
          process.exitCode = 1;
          resolveStopped();
        });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

function engineOptions(flags: ServeFlags): EngineOptions {
  const mb = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 2 ** 20));
  const imageLoad = {
    // A server reads no local file for a client unless the operator names a directory.
    ...(flags.allowedLocalMediaPath === undefined ? { allowLocalFiles: false } : { localFileDirs: [flags.allowedLocalMediaPath] }),
    allowPrivateNetwork: flags.allowPrivateImageUrls === true,
    ...(flags.allowedImageHosts.length > 0 && { allowedHosts: flags.allowedImageHosts }),
    ...(flags.imageMaxMb !== undefined && { maxBytes: mb(flags.imageMaxMb) }),
    ...(flags.imageTimeout !== undefined && { timeoutMs: Math.round(flags.imageTimeout * 1000) }),
    ...(flags.imageMaxPixels !== undefined && { maxPixels: flags.imageMaxPixels }),
  };
  const options: Record<string, unknown> = {
    modelPath: flags.model, chatTemplate: flags.chatTemplate, device: flags.device, loadFormat: flags.loadFormat, quantization: flags.quantization,
    contextLength: flags.contextLength, maxRunningRequests: flags.maxRunningRequests, maxTotalTokens: flags.maxTotalTokens,
    kvCacheMemoryMB: flags.kvCacheMemoryMb, memFractionStatic: flags.memFractionStatic, visionTokenBudget: flags.visionTokenBudget,
    disableCudaGraph: flags.disableCudaGraph, cudaGraphMaxBs: flags.cudaGraphMaxBs, tpSize: flags.tpSize, pageSize: flags.pageSize, chunkedPrefillSize: flags.chunkedPrefillSize,
    disableRadixCache: flags.disableRadixCache, disableOverlapSchedule: flags.disableOverlapSchedule, randomSeed: flags.randomSeed,
    preprocessWorkers: flags.preprocessWorkers, logLevel: flags.logLevel, imageLoad,
  };
  // Flags not given stay out, so the engine's defaults apply.
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return options as unknown as EngineOptions;
}
