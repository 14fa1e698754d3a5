/**
 * `iris serve`'s SGLang endpoints on the demo model: `/generate` with `image_data` (one prompt, a batch with a
 * failing member, streaming, logprobs, n), the health checks, model and server info, and `/flush_cache`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { demoPrompt } from "../../src/demo/demo-model.js";
import type { QuestionAnswer } from "../../src/demo/shapes/index.js";
import { offlineAnswer, postJson, SCENE_SEED, sceneDataUrl, sceneQuestions, serveDemo, type Served } from "../helpers/serve.js";

interface GenerateResult {
  text: string;
  output_ids: number[];
  meta_info: { id: string; prompt_tokens: number; completion_tokens: number; finish_reason: { type: string; message?: string; code?: string };
    output_token_logprobs?: [number, number, null][]; output_top_logprobs?: [number, number, null][][] };
}

describe("iris serve: SGLang's endpoints", { timeout: 300_000 }, () => {
  let served: Served;
  let dataUrl: string;
  let qa: QuestionAnswer;

  before(async () => {
    served = await serveDemo();
    dataUrl = await sceneDataUrl(SCENE_SEED);
    qa = (await sceneQuestions(SCENE_SEED))[0];
  });
  after(async () => served?.close());

  const generate = (body: unknown) => postJson(`${served.url}/generate`, body);
  const params = { temperature: 0, max_new_tokens: 32 };

  test("/generate with image_data answers about the picture as the offline engine does", async () => {
    const { status, body } = await generate({ text: demoPrompt(qa.question), image_data: dataUrl, sampling_params: params });
    assert.equal(status, 200, JSON.stringify(body));
    const result = body as GenerateResult;
    assert.equal(result.text.trim(), qa.answer);
    assert.equal(result.text, await offlineAnswer(served.engine, dataUrl, qa.question));
    assert.equal(result.meta_info.finish_reason.type, "stop");
    assert.equal(result.meta_info.completion_tokens, result.output_ids.length);
  });

  test("a batch keeps its order; a member with a broken image fails alone with its abort reason", async () => {
    const prompt = demoPrompt(qa.question);
    const { status, body } = await generate({ text: [prompt, prompt], image_data: [dataUrl, "data:image/png;base64,AAAA"], sampling_params: params });
    assert.equal(status, 200);
    const [good, bad] = body as GenerateResult[];
    assert.equal(good.text.trim(), qa.answer);
    assert.equal(bad.meta_info.finish_reason.type, "abort");
    assert.equal(bad.meta_info.finish_reason.code, "IMAGE_LOAD");
  });

  test("a single request with a broken image is a 400 with the engine's code", async () => {
    const { status, body } = await generate({ text: demoPrompt(qa.question), image_data: "data:image/png;base64,AAAA", sampling_params: params });
    assert.equal(status, 400);
    assert.equal((body as { error: { code: string } }).error.code, "IMAGE_LOAD");
  });

  test("streaming sends the growing text and ends with [DONE]; the last event equals the whole answer", async () => {
    const response = await fetch(`${served.url}/generate`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: demoPrompt(qa.question), image_data: dataUrl, sampling_params: params, stream: true }),
    });
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const events = (await response.text()).split("\n\n").filter(Boolean).map((e) => e.replace(/^data: /, ""));
    assert.equal(events.at(-1), "[DONE]");
    const results = events.slice(0, -1).map((e) => JSON.parse(e) as GenerateResult);
    assert.equal(results.at(-1)!.text.trim(), qa.answer);
    assert.equal(results.at(-1)!.meta_info.finish_reason.type, "stop");
    for (let i = 1; i < results.length; i++) assert.ok(results[i].text.startsWith(results[i - 1].text));
  });

  test("return_logprob with top_logprobs_num gives SGLang's tuples", async () => {
    const { body } = await generate({ text: demoPrompt(qa.question), image_data: dataUrl, sampling_params: params, return_logprob: true, top_logprobs_num: 2 });
    const result = body as GenerateResult;
    assert.equal(result.meta_info.output_token_logprobs!.length, result.output_ids.length);
    assert.deepEqual(result.meta_info.output_token_logprobs!.map((t) => t[1]), result.output_ids);
    assert.equal(result.meta_info.output_top_logprobs![0].length, 2);
  });

  test("sampling_params are checked with SGLang's names; unknown fields are refused by name", async () => {
    const typo = await generate({ text: "hi", sampling_params: { max_new_tokenz: 4 } });
    assert.equal(typo.status, 400);
    assert.match(JSON.stringify(typo.body), /max_new_tokenz.*did you mean max_new_tokens/);
    const range = await generate({ text: "hi", sampling_params: { top_p: 3 } });
    assert.match(JSON.stringify(range.body), /top_p must be in/);
    const field = await generate({ text: "hi", stream_mode: true });
    assert.equal(field.status, 400);
    assert.match(JSON.stringify(field.body), /unknown field stream_mode/);
    const n = await generate({ text: "hi", sampling_params: { n: 2, max_new_tokens: 2, temperature: 0.5 } });
    assert.equal((n.body as unknown[]).length, 2);
  });

  test("health, health_generate, model and server info, flush_cache", async () => {
    assert.equal((await fetch(`${served.url}/health`)).status, 200);
    assert.equal((await fetch(`${served.url}/health_generate`)).status, 200);
    const model = await (await fetch(`${served.url}/get_model_info`)).json() as Record<string, unknown>;
    assert.equal(model.is_generation, true);
    assert.equal(model.served_model_name, "shapes-vlm");
    const info = await (await fetch(`${served.url}/get_server_info`)).json() as Record<string, unknown>;
    assert.equal(info.device, "cpu");
    assert.equal(typeof info.max_total_num_tokens, "number");
    assert.ok(Array.isArray(info.internal_states));
    const flushed = await fetch(`${served.url}/flush_cache`, { method: "POST" });
    assert.equal(flushed.status, 200);
    assert.match(await flushed.text(), /Cache flushed/);
  });
});
