/**
 * SGLang's native endpoints: `POST /generate` (text or `input_ids`, one or a batch, `image_data`, snake_case
 * `sampling_params`, `stream`, logprobs), `GET /health`, `GET /health_generate`, `GET /get_model_info`,
 * `GET /get_server_info` and `POST /flush_cache`, with SGLang's field names and response shapes.
 */
import type { FastifyInstance } from "fastify";
import { IrisError } from "../core/errors.js";
import type { GenerateRequest, StreamChunk } from "../core/request.js";
import { resolveSamplingParams, type SamplingParams } from "../core/sampling-params.js";
import { Generation, failureOf } from "./generation.js";
import { badRequest, HttpError, toHttpError } from "./http-errors.js";
import { asBody } from "./openai-request.js";
import { tracked, type ServerContext } from "./session.js";
import { snakeKeys, toCamel, toSnake } from "./snake-case.js";
import { SseStream } from "./sse.js";

const GENERATE_FIELDS = new Set(["text", "input_ids", "image_data", "sampling_params", "stream", "return_logprob", "top_logprobs_num",
  "logprob_start_len", "token_ids_logprob"]);

export function registerSGLangRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get("/health", async (_request, reply) => reply.code(200).send());
  app.get("/health_generate", async () => {
    try {
      // One token through the whole engine: the worker, the scheduler and the model all answer.
      await ctx.engine.generate({ inputIds: [0], samplingParams: { maxNewTokens: 1 } });
    } catch (err) {
      throw new HttpError(503, `the engine cannot generate: ${(err as Error).message}`, "UNHEALTHY");
    }
    return "";
  });
  app.get("/get_model_info", async () => ({
    model_path: ctx.modelPath, tokenizer_path: ctx.modelPath, served_model_name: ctx.modelName, is_generation: true,
    has_image_understanding: true, weight_version: "default",
  }));
  app.get("/get_server_info", async () => snakeKeys(await ctx.engine.getServerInfo()));
  app.post("/flush_cache", async (_request, reply) => {
    const result = await ctx.engine.flushCache();
    return reply.code(result.success ? 200 : 400).type("text/plain").send(result.success
      ? `Cache flushed.\n${result.freedPages} KV pages freed.\n`
      : `Cache not flushed: ${result.message}. (When there are running or waiting requests, the operation is not performed.)\n`);
  });

  app.post("/generate", async (request, reply) => tracked(ctx, "generate", reply, async (session) => {
    const startedAt = performance.now();
    const body = asBody(request.body);
    const { source, prompts, n } = generateRequest(body, ctx.vocabSize);
    session.admit(n * (prompts === "single" ? 1 : prompts));
    const generation = session.track(new Generation(ctx.engine, source, prompts, n, ctx.metrics, startedAt, "gen"));
    if (body.stream !== true) {
      const finals = (await generation.collect(prompts !== "single")).map((chunk) => result(chunk, false));
      return prompts === "single" && n === 1 ? finals[0] : finals;
    }
    const first = await generation.first();
    reply.hijack();
    const sse = new SseStream(reply.raw);
    sse.open();
    if (first) sse.send(result(first, true));
    for await (const chunk of generation.rest()) {
      const error = failureOf(chunk);
      if (error && !generation.wasCancelled) sse.send(toHttpError(error, ctx.log.error).body());
      else sse.send(result(chunk, true));
    }
    sse.done();
    return undefined;
  }));
}

/** SGLang's result object: the text (whole, also when streamed), the output ids, and meta_info in snake_case. */
function result(chunk: StreamChunk, streamed: boolean) {
  const meta = snakeKeys(chunk.metaInfo) as Record<string, unknown>;
  // A stream interleaves a batch's outputs: each event says which one it continues.
  return { text: chunk.text, output_ids: chunk.outputIds, meta_info: meta, ...(streamed && { index: chunk.index }) };
}

function generateRequest(body: Record<string, unknown>, vocabSize: number): { source: GenerateRequest; prompts: number | "single"; n: number } {
  for (const key of Object.keys(body)) {
    if (key === "rid") throw badRequest("rid: the server names its requests; a disconnected client's request is aborted for it", key);
    if (!GENERATE_FIELDS.has(key)) throw badRequest(`unknown field ${key}`, key);
  }
  if ((body.text === undefined) === (body.input_ids === undefined)) throw badRequest("give either text or input_ids");
  const batch = Array.isArray(body.text) || (Array.isArray(body.input_ids) && Array.isArray(body.input_ids[0]));
  const prompts = batch ? ((body.text ?? body.input_ids) as unknown[]).length : "single";
  const samplingParams = samplingOf(body.sampling_params, vocabSize);
  checkImages(body.image_data);
  const source: GenerateRequest = {
    ...(body.text !== undefined ? { prompt: body.text as string | string[] } : { inputIds: body.input_ids as number[] | number[][] }),
    ...(body.image_data !== undefined && body.image_data !== null && { imageData: body.image_data as GenerateRequest["imageData"] }),
    samplingParams,
    ...(body.return_logprob !== undefined && { returnLogprob: body.return_logprob as boolean }),
    ...(body.top_logprobs_num !== undefined && { topLogprobsNum: body.top_logprobs_num as number }),
    ...(body.logprob_start_len !== undefined && { logprobStartLen: body.logprob_start_len as number }),
    ...(body.token_ids_logprob !== undefined && { tokenIdsLogprob: body.token_ids_logprob as number[] }),
  };
  return { source, prompts, n: samplingParams.n ?? 1 };
}

/** snake_case sampling parameters, checked by the engine's rules with its messages naming the snake_case fields. */
function samplingOf(params: unknown, vocabSize: number): SamplingParams {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || Array.isArray(params)) throw badRequest("sampling_params must be an object", "sampling_params");
  const camel = Object.fromEntries(Object.entries(params).map(([k, v]) => [toCamel(k), v])) as SamplingParams;
  try {
    resolveSamplingParams(camel, vocabSize);
  } catch (err) {
    if (!(err instanceof IrisError)) throw err;
    throw badRequest(err.message.replace(/\b[a-z]+(?:[A-Z][a-z0-9]*)+\b/g, toSnake), "sampling_params");
  }
  return camel;
}

/** Images from a client are strings (URLs, data URLs, base64); processor outputs and tensors stay in the library API. */
function checkImages(images: unknown): void {
  if (images === undefined || images === null) return;
  const ok = (v: unknown): boolean => typeof v === "string" || v === null || (Array.isArray(v) && v.every(ok));
  if (!ok(images)) throw badRequest("image_data holds image strings: http(s) URLs, data URLs or base64 (one, a list, or one entry per prompt)", "image_data");
}
