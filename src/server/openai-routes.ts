/**
 * OpenAI's endpoints: `POST /v1/chat/completions` (text and image parts through the chat template),
 * `POST /v1/completions` (prompts used as given: one, a batch, or token ids) and `GET /v1/models`.
 */
import type { FastifyInstance } from "fastify";
import type { GenerateRequest, StreamChunk } from "../core/request.js";
import { Generation } from "./generation.js";
import { badRequest, HttpError } from "./http-errors.js";
import { asBody, chatPlan, completionPlan, type GenerationPlan } from "./openai-request.js";
import { chatChunk, chatCompletion, completionChunk, finishReasonOf, textCompletion, type ResponseHead } from "./openai-response.js";
import { streamOpenAI } from "./openai-stream.js";
import { tracked, type ServerContext } from "./session.js";

export function registerOpenAIRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get("/v1/models", async () => ({ object: "list", data: [modelCard(ctx)] }));
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    checkModel(ctx, request.params.id);
    return modelCard(ctx);
  });

  app.post("/v1/chat/completions", async (request, reply) => tracked(ctx, "chat_completions", reply, async (session) => {
    const startedAt = performance.now();
    const body = asBody(request.body);
    const plan = chatPlan(body, ctx.vocabSize);
    checkModel(ctx, plan.model);
    const { prompt, images } = ctx.prompts.build(body.messages);
    session.admit(plan.n);
    const generation = session.track(new Generation(ctx.engine, { prompt, ...(images.length > 0 && { imageData: images }), ...engineFields(plan) },
      "single", plan.n, ctx.metrics, startedAt, "chatcmpl"));
    const head = responseHead(ctx, generation);
    const texts = plan.topLogprobs === undefined ? undefined : ctx.texts;
    if (!plan.stream) return chatCompletion(head, await generation.collect(), plan.n, texts);
    const sentRole = new Set<number>();
    const logprobsSent = new Map<number, number>();
    await streamOpenAI(ctx, reply, generation, {
      choice: (chunk) => {
        const finish = finishReasonOf(chunk.metaInfo.finishReason);
        const first = !sentRole.has(chunk.index);
        const from = logprobsSent.get(chunk.index) ?? 0;
        const to = chunk.metaInfo.outputTokenLogprobs?.length ?? 0;
        if (!first && chunk.delta === "" && finish === null && to === from) return undefined;
        sentRole.add(chunk.index);
        logprobsSent.set(chunk.index, to);
        return {
          index: chunk.index,
          delta: { ...(first && { role: "assistant" }), content: chunk.delta },
          logprobs: texts ? { content: texts.chatContent(chunk.metaInfo, from, to) } : null,
          finish_reason: finish,
        };
      },
      event: (choices, usage) => chatChunk(head, choices, usage),
    }, plan.n, plan.includeUsage);
    return undefined;
  }));

  app.post("/v1/completions", async (request, reply) => tracked(ctx, "completions", reply, async (session) => {
    const startedAt = performance.now();
    const body = asBody(request.body);
    const plan = completionPlan(body, ctx.vocabSize);
    checkModel(ctx, plan.model);
    const { source, prompts } = completionPrompt(body.prompt);
    session.admit(plan.n * (prompts === "single" ? 1 : prompts));
    const generation = session.track(new Generation(ctx.engine, { ...source, ...engineFields(plan) }, prompts, plan.n, ctx.metrics, startedAt, "cmpl"));
    const head = responseHead(ctx, generation);
    const texts = plan.topLogprobs === undefined ? undefined : ctx.texts;
    if (!plan.stream) return textCompletion(head, await generation.collect(), plan.n, texts);
    const logprobsSent = new Map<number, number>();
    await streamOpenAI(ctx, reply, generation, {
      choice: (chunk: StreamChunk) => {
        const finish = finishReasonOf(chunk.metaInfo.finishReason);
        const from = logprobsSent.get(chunk.index) ?? 0;
        if (chunk.delta === "" && finish === null) return undefined;
        logprobsSent.set(chunk.index, chunk.metaInfo.outputTokenLogprobs?.length ?? 0);
        const offset = chunk.text.length - chunk.delta.length;
        return { index: chunk.index, text: chunk.delta, logprobs: texts ? texts.completionLogprobs(chunk.metaInfo, from, offset) : null, finish_reason: finish };
      },
      event: (choices, usage) => completionChunk(head, choices, usage),
    }, plan.n, plan.includeUsage);
    return undefined;
  }));
}

/** The engine request's fields a plan sets besides the prompt. */
function engineFields(plan: GenerationPlan): GenerateRequest {
  return {
    samplingParams: plan.samplingParams,
    ...(plan.topLogprobs !== undefined && { returnLogprob: true, topLogprobsNum: plan.topLogprobs }),
  };
}

/** A prompt, a batch of prompts, token ids, or a batch of token-id lists. */
function completionPrompt(prompt: unknown): { source: GenerateRequest; prompts: number | "single" } {
  const isIds = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x));
  if (typeof prompt === "string") return { source: { prompt }, prompts: "single" };
  if (isIds(prompt)) return { source: { inputIds: prompt as number[] }, prompts: "single" };
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === "string")) return { source: { prompt: prompt as string[] }, prompts: prompt.length };
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isIds)) return { source: { inputIds: prompt as number[][] }, prompts: prompt.length };
  throw badRequest("prompt must be a string, a list of strings, a list of token ids, or a list of such lists", "prompt");
}

function responseHead(ctx: ServerContext, generation: Generation): ResponseHead {
  return { id: generation.id, created: Math.floor(Date.now() / 1000), model: ctx.modelName };
}

/** A request may name the served model by its name or its path, or leave `model` out. */
function checkModel(ctx: ServerContext, model: string | undefined): void {
  if (model === undefined || model === ctx.modelName || model === ctx.modelPath) return;
  throw new HttpError(404, `The model \`${model}\` does not exist. This server serves \`${ctx.modelName}\`.`, "model_not_found", "model");
}

function modelCard(ctx: ServerContext) {
  return { id: ctx.modelName, object: "model", created: 0, owned_by: "iris", root: ctx.modelPath, max_model_len: ctx.engine.info.contextLength };
}
