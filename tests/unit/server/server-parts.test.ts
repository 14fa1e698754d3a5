/**
 * The server's parts without a server: the bounded queue, the API key check, errors to HTTP statuses, OpenAI bodies
 * to sampling parameters, response_format, snake_case conversion, and chat messages to prompts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IrisError } from "../../../src/core/errors.js";
import { DEMO_MODEL_DIR } from "../../../src/demo/demo-model.js";
import { Admission } from "../../../src/server/admission.js";
import { apiKeyCheck } from "../../../src/server/auth.js";
import { ChatPromptBuilder } from "../../../src/server/chat-prompt.js";
import { HttpError, toHttpError } from "../../../src/server/http-errors.js";
import { chatPlan, completionPlan } from "../../../src/server/openai-request.js";
import { checkResponseFormat } from "../../../src/server/response-format.js";
import { snakeKeys, toCamel } from "../../../src/server/snake-case.js";

const VOCAB = 1000;
const status = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof HttpError ? err.status : -1;
  }
  return 200;
};

test("the bounded queue: running + queued places, then 503 with Retry-After; a drain refuses new requests and waits for the rest", async () => {
  const admission = new Admission(2, 1);
  const a = admission.admit(1);
  const b = admission.admit(2);
  assert.equal(admission.waiting, 1);
  assert.throws(() => admission.admit(1), (e: HttpError) => e.status === 503 && e.headers["retry-after"] === "1" && e.code === "QUEUE_FULL");
  b();
  b(); // giving back twice gives back once
  assert.equal(admission.size, 1);
  const c = admission.admit(2);
  let drained = false;
  const drain = admission.drain().then(() => (drained = true));
  assert.throws(() => admission.admit(1), (e: HttpError) => e.status === 503 && e.code === "SHUTTING_DOWN");
  a();
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  c();
  await drain;
  assert.equal(drained, true);
  // One request larger than the whole bound still runs in an empty server.
  assert.doesNotThrow(() => new Admission(1, 0).admit(5));
});

test("the API key: /health open, Bearer with the right key only", () => {
  const check = apiKeyCheck("s3cret");
  assert.equal(status(() => check("/health", undefined)), 200);
  assert.equal(status(() => check("/v1/models", undefined)), 401);
  assert.equal(status(() => check("/v1/models", "Bearer s3cre")), 401);
  assert.equal(status(() => check("/v1/models", "Basic s3cret")), 401);
  assert.equal(status(() => check("/v1/models", "Bearer s3cret")), 200);
  assert.equal(status(() => check("/metrics", "bearer s3cret")), 200);
});

test("errors: the engine's codes by cause; internal faults are logged and answered without their text", () => {
  const logged: string[] = [];
  const log = (m: string) => logged.push(m);
  assert.equal(toHttpError(new IrisError("IMAGE_LOAD", "bad picture"), log).status, 400);
  assert.equal(toHttpError(new IrisError("CONTEXT_TOO_LONG", "long"), log).status, 400);
  assert.equal(toHttpError(new IrisError("ENGINE_SHUTDOWN", "stopping"), log).status, 503);
  const internal = toHttpError(new IrisError("INTERNAL", "at /secret/path.ts:12"), log);
  assert.equal(internal.status, 500);
  assert.doesNotMatch(JSON.stringify(internal.body()), /secret/);
  const crash = toHttpError(new TypeError("x is undefined at /secret"), log);
  assert.deepEqual(crash.body().error, { message: "internal server error", type: "internal_server_error", param: null, code: "INTERNAL" });
  assert.equal(logged.length, 2);
  const tooLarge = Object.assign(new Error("Request body is too large"), { statusCode: 413, code: "FST_ERR_CTP_BODY_TOO_LARGE" });
  assert.equal(toHttpError(tooLarge, log).status, 413);
});

test("OpenAI bodies to sampling parameters: names, precedence, logprobs, and refusals that name the field", () => {
  const plan = chatPlan({ messages: [], max_tokens: 5, max_completion_tokens: 7, temperature: 0, top_p: 0.9, seed: 3, stop: ["."], logprobs: true, top_logprobs: 2, top_k: 4 }, VOCAB);
  assert.deepEqual(plan.samplingParams, { temperature: 0, topP: 0.9, samplingSeed: 3, stop: ["."], topK: 4, maxNewTokens: 7 });
  assert.equal(plan.topLogprobs, 2);
  assert.equal(chatPlan({ messages: [], logprobs: true }, VOCAB).topLogprobs, 0);
  assert.equal(chatPlan({ messages: [] }, VOCAB).topLogprobs, undefined);
  assert.throws(() => chatPlan({ messages: [], top_logprobs: 2 }, VOCAB), /top_logprobs needs logprobs/);
  assert.throws(() => chatPlan({ messages: [], top_p: 3 }, VOCAB), (e: HttpError) => /top_p must be in/.test(e.message) && e.param === "top_p");
  assert.throws(() => chatPlan({ messages: [], frobnicate: 1 }, VOCAB), /unknown field frobnicate/);
  assert.throws(() => chatPlan({ messages: [], tools: [{ type: "function" }] }, VOCAB), /tool calling is not supported/);
  assert.doesNotThrow(() => chatPlan({ messages: [], tools: [], user: "u" }, VOCAB));
  assert.throws(() => chatPlan({ messages: [], stream_options: { include_usage: true } }, VOCAB), /needs stream: true/);
  assert.equal(chatPlan({ messages: [], stream: true, stream_options: { include_usage: true } }, VOCAB).includeUsage, true);
  assert.equal(completionPlan({ prompt: "x", logprobs: 3 }, VOCAB).topLogprobs, 3);
  assert.throws(() => completionPlan({ prompt: "x", echo: true }, VOCAB), /echo/);
});

test("response_format: json_schema and json_object become the engine's jsonSchema text", () => {
  assert.deepEqual(checkResponseFormat({ type: "text" }), {});
  assert.deepEqual(checkResponseFormat({ type: "json_object" }), { jsonSchema: '{"type":"object"}' });
  assert.deepEqual(checkResponseFormat({ type: "json_schema", json_schema: { name: "a", schema: { type: "integer" } } }), { jsonSchema: '{"type":"integer"}' });
  assert.throws(() => checkResponseFormat({ type: "json_schema", json_schema: { name: "a" } }), /json_schema\.schema/);
  assert.throws(() => checkResponseFormat({ type: "yaml" }), /response_format\.type/);
});

test("snake_case at the edge", () => {
  assert.equal(toCamel("max_new_tokens"), "maxNewTokens");
  assert.deepEqual(snakeKeys({ metaInfo: { promptTokens: 1, outputTokenLogprobs: [[-1, 2, null]] } }), { meta_info: { prompt_tokens: 1, output_token_logprobs: [[-1, 2, null]] } });
});

test("chat messages to a prompt: the model's own template and SGLang's qwen2-vl give the demo's prompt; images in order", () => {
  const messages = [
    { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }, { type: "text", text: "How many shapes are there?" }] },
  ];
  const own = ChatPromptBuilder.create(DEMO_MODEL_DIR, undefined).build(messages);
  const named = ChatPromptBuilder.create(DEMO_MODEL_DIR, "qwen2-vl").build(messages);
  assert.equal(own.prompt, named.prompt);
  assert.match(own.prompt, /<\|vision_start\|><\|image_pad\|><\|vision_end\|>How many shapes are there\?<\|im_end\|>\n<\|im_start\|>assistant\n$/);
  assert.deepEqual(own.images, ["data:image/png;base64,AAAA"]);
  const builder = ChatPromptBuilder.create(DEMO_MODEL_DIR, undefined);
  assert.throws(() => builder.build([{ role: "user", content: [{ type: "image_url", image_url: { url: "/etc/passwd" } }] }]), (e: IrisError) => e.code === "IMAGE_LOAD");
  assert.throws(() => builder.build([]), /non-empty list/);
  assert.throws(() => builder.build([{ role: "tool", content: "x" }]), /role must be one of/);
  assert.throws(() => builder.build([{ role: "assistant", content: [{ type: "image_url", image_url: { url: "data:," } }] }]), /only user messages/);
  assert.throws(() => ChatPromptBuilder.create(DEMO_MODEL_DIR, "nope"), /unknown chat template/);
});
