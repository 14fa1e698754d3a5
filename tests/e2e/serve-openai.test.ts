/**
 * `iris serve` through the official clients: the `openai` npm client and the Vercel AI SDK (`ai` with
 * `@ai-sdk/openai-compatible`) against the bundled demo model on 127.0.0.1. A picture given as a data URL and as a
 * URL gets the right answer (the shapes generator knows it) and the offline engine's greedy answer; streaming yields
 * the non-streamed text; n gives n choices; logprobs come back; a json_schema answer parses and validates (ajv);
 * `/metrics` counts what was sent.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { generateText, streamText } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { QuestionAnswer } from "../../src/demo/shapes/index.js";
import { Ajv } from "ajv";
import { SHAPE_SCHEMA } from "../helpers/structured.js";
import { imageHost, metricValue, offlineAnswer, SCENE_SEED, sceneDataUrl, scenePng, sceneQuestions, serveDemo, type Served } from "../helpers/serve.js";

const MODEL = "shapes-vlm";

const validShape = new Ajv({ strict: true }).compile(SHAPE_SCHEMA);

/** Each answer parses as JSON, validates against the bounded schema, and ended because the grammar was complete. */
function assertValidShapes(answers: readonly { text: string; finish: string | null }[]): void {
  assert.ok(answers.length > 0);
  for (const { text, finish } of answers) {
    assert.equal(finish, "stop", text);
    assert.ok(validShape(JSON.parse(text)), `${text} fails the schema: ${JSON.stringify(validShape.errors)}`);
  }
}

describe("iris serve with the openai client and the AI SDK", { timeout: 300_000 }, () => {
  let served: Served;
  let host: Awaited<ReturnType<typeof imageHost>>;
  let client: OpenAI;
  let dataUrl: string;
  let questions: QuestionAnswer[] = [];

  before(async () => {
    // The image host listens on loopback, which a server refuses by default: this one allows it.
    served = await serveDemo({ imageLoad: { allowPrivateNetwork: true } });
    host = await imageHost();
    client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 120_000 });
    dataUrl = await sceneDataUrl(SCENE_SEED);
    questions = await sceneQuestions(SCENE_SEED);
  });
  after(async () => {
    await host?.close();
    await served?.close();
  });

  const ask = (question: string, url: string) => ({
    model: MODEL,
    messages: [{ role: "user" as const, content: [{ type: "image_url" as const, image_url: { url } }, { type: "text" as const, text: question }] }],
    temperature: 0,
    max_tokens: 32,
  });

  test("a picture as a data URL and as a URL gets the right answers, equal to the offline engine's", async () => {
    assert.ok(questions.length >= 3);
    for (const qa of questions) {
      const viaData = await client.chat.completions.create(ask(qa.question, dataUrl));
      const viaUrl = await client.chat.completions.create(ask(qa.question, host.url(SCENE_SEED)));
      const offline = await offlineAnswer(served.engine, dataUrl, qa.question);
      assert.equal(viaData.choices[0].message.content?.trim(), qa.answer, `data URL: ${qa.question}`);
      assert.equal(viaUrl.choices[0].message.content, viaData.choices[0].message.content, `URL: ${qa.question}`);
      assert.equal(viaData.choices[0].message.content, offline);
      assert.equal(viaData.choices[0].finish_reason, "stop");
      assert.ok(viaData.usage && viaData.usage.prompt_tokens > 20 && viaData.usage.completion_tokens > 0);
      assert.equal(viaData.usage.total_tokens, viaData.usage.prompt_tokens + viaData.usage.completion_tokens);
      assert.equal(viaData.model, MODEL);
    }
  });

  test("streaming yields the non-streamed text, then a usage chunk", async () => {
    const qa = questions[0];
    const whole = await client.chat.completions.create(ask(qa.question, dataUrl));
    const stream = await client.chat.completions.create({ ...ask(qa.question, dataUrl), stream: true, stream_options: { include_usage: true } });
    let text = "";
    let role: string | undefined;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let events = 0;
    for await (const chunk of stream) {
      events++;
      if (chunk.choices.length === 0) usage = chunk.usage;
      for (const choice of chunk.choices) {
        role ??= choice.delta.role;
        text += choice.delta.content ?? "";
        finish = choice.finish_reason ?? finish;
      }
    }
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(role, "assistant");
    assert.equal(finish, "stop");
    assert.ok(events >= 2);
    assert.deepEqual({ ...usage, prompt_tokens_details: undefined }, { ...whole.usage, prompt_tokens_details: undefined });
  });

  test("n: 3 gives three choices, each a whole answer", async () => {
    const response = await client.chat.completions.create({ ...ask(questions[0].question, dataUrl), n: 3, temperature: 0.8, seed: 7 });
    assert.deepEqual(response.choices.map((c) => c.index), [0, 1, 2]);
    for (const choice of response.choices) assert.ok(choice.message.content && choice.message.content.length > 0);
    // The prompt counts once; each sample's tokens count.
    assert.ok(response.usage!.completion_tokens >= 3);
  });

  test("logprobs and top_logprobs come back for every generated token", async () => {
    const response = await client.chat.completions.create({ ...ask(questions[0].question, dataUrl), logprobs: true, top_logprobs: 3 });
    const content = response.choices[0].logprobs?.content;
    assert.ok(content && content.length === response.usage!.completion_tokens);
    // Greedy: each chosen token is the most likely one, its logprob the top entry's.
    for (const entry of content) {
      assert.equal(entry.top_logprobs.length, 3);
      assert.equal(entry.token, entry.top_logprobs[0].token);
      assert.ok(entry.logprob <= 0 && Math.abs(entry.logprob - entry.top_logprobs[0].logprob) < 1e-6);
      assert.ok(entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob);
    }
    assert.ok(response.choices[0].message.content!.startsWith(content[0].token.trim()));
  });

  test("response_format json_schema: the answer parses and validates against the schema; json_object gives an object", async () => {
    const response = await client.chat.completions.create({
      ...ask(questions[0].question, dataUrl), max_tokens: 120, temperature: 1, seed: 11, n: 3,
      response_format: { type: "json_schema", json_schema: { name: "shapes", schema: SHAPE_SCHEMA as unknown as Record<string, unknown>, strict: true } },
    });
    assertValidShapes(response.choices.map((c) => ({ text: c.message.content ?? "", finish: c.finish_reason })));
    const object = await client.chat.completions.create({ ...ask(questions[0].question, dataUrl), max_tokens: 200, response_format: { type: "json_object" } });
    if (object.choices[0].finish_reason === "stop") {
      const value: unknown = JSON.parse(object.choices[0].message.content ?? "");
      assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), object.choices[0].message.content ?? "");
    } else {
      assert.match(object.choices[0].message.content ?? "", /^\s*\{/, "a length-cut object still starts as one");
    }
    await assert.rejects(client.chat.completions.create({ ...ask("x", dataUrl), response_format: { type: "json_schema", json_schema: { name: "none" } } }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && /json_schema\.schema/.test(err.message));
  });

  test("errors come back as OpenAI errors the client raises: a bad value, an unknown model", async () => {
    await assert.rejects(client.chat.completions.create({ ...ask("x", dataUrl), top_p: 2 }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && /top_p must be in/.test(err.message) && (err.error as { code?: string }).code === "INVALID_ARGUMENT");
    await assert.rejects(client.chat.completions.create({ ...ask("x", dataUrl), model: "gpt-4o" }), (err: unknown) => err instanceof OpenAI.NotFoundError);
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [MODEL]);
  });

  test("completions: a prompt used as given, streamed and not", async () => {
    const whole = await client.completions.create({ model: MODEL, prompt: "a red circle", max_tokens: 8, temperature: 0 });
    let streamed = "";
    for await (const chunk of await client.completions.create({ model: MODEL, prompt: "a red circle", max_tokens: 8, temperature: 0, stream: true })) {
      streamed += chunk.choices[0]?.text ?? "";
    }
    assert.equal(streamed, whole.choices[0].text);
    assert.equal(whole.usage!.completion_tokens > 0, true);
  });

  test("the AI SDK: generateText answers about the picture, streamText yields the same text", async () => {
    const iris = createOpenAICompatible({ name: "iris", baseURL: `${served.url}/v1` });
    const qa = questions[0];
    const messages = [{ role: "user" as const, content: [{ type: "image" as const, image: await scenePng(SCENE_SEED), mediaType: "image/png" }, { type: "text" as const, text: qa.question }] }];
    const generated = await generateText({ model: iris.chatModel(MODEL), messages, temperature: 0, maxOutputTokens: 32, maxRetries: 0 });
    assert.equal(generated.text.trim(), qa.answer);
    assert.equal(generated.finishReason, "stop");
    const streamed = streamText({ model: iris.chatModel(MODEL), messages, temperature: 0, maxOutputTokens: 32, maxRetries: 0 });
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    assert.equal(text, generated.text);
  });

  test("/metrics counts the requests and tokens that were sent", async () => {
    const scrape = async () => (await fetch(`${served.url}/metrics`)).text();
    const before = await scrape();
    const sample = 'iris_requests_total{endpoint="chat_completions",outcome="success"}';
    let promptTokens = 0;
    let completionTokens = 0;
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.completions.create(ask(questions[i % questions.length].question, dataUrl));
      promptTokens += r.usage!.prompt_tokens;
      completionTokens += r.usage!.completion_tokens;
    }
    await assert.rejects(client.chat.completions.create({ ...ask("x", dataUrl), temperature: -1 }));
    const after = await scrape();
    assert.equal(metricValue(after, sample) - metricValue(before, sample), 3);
    const errors = 'iris_requests_total{endpoint="chat_completions",outcome="client_error"}';
    assert.equal(metricValue(after, errors) - metricValue(before, errors), 1);
    assert.equal(metricValue(after, "iris_prompt_tokens_total") - metricValue(before, "iris_prompt_tokens_total"), promptTokens);
    assert.equal(metricValue(after, "iris_generation_tokens_total") - metricValue(before, "iris_generation_tokens_total"), completionTokens);
    assert.equal(metricValue(after, "iris_time_to_first_token_seconds_count") - metricValue(before, "iris_time_to_first_token_seconds_count"), 3);
    assert.ok(metricValue(after, "iris_prefix_cache_hit_rate") > 0, "the same picture's prompt is cached after the first request");
    for (const name of ["iris_queue_depth", "iris_running_requests", "iris_kv_cache_usage_ratio", "iris_inter_token_latency_seconds_count"]) {
      assert.ok(after.includes(`\n${name} `), `${name} is exported`);
    }
  });
});
