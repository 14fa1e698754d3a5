// iris serve on the cuda device: the openai client's answers about a picture equal the offline engine's greedy
// answers on the same device (as data URLs, streamed and not), n gives n choices, and SGLang's /generate answers.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";
import { demoPrompt } from "../../src/demo/demo-model.js";
import { offlineAnswer, postJson, SCENE_SEED, sceneDataUrl, sceneQuestions, serveDemo } from "../helpers/serve.js";
import { skipCuda } from "./harness.js";

test("iris serve --device cuda answers as the offline engine on cuda", { skip: skipCuda, timeout: 300_000 }, async () => {
  const served = await serveDemo({ device: "cuda" });
  try {
    const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const dataUrl = await sceneDataUrl(SCENE_SEED);
    for (const qa of await sceneQuestions(SCENE_SEED)) {
      const request = {
        model: "shapes-vlm", temperature: 0, max_tokens: 32,
        messages: [{ role: "user" as const, content: [{ type: "image_url" as const, image_url: { url: dataUrl } }, { type: "text" as const, text: qa.question }] }],
      };
      const whole = await client.chat.completions.create(request);
      let streamed = "";
      for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) streamed += chunk.choices[0]?.delta.content ?? "";
      const offline = await offlineAnswer(served.engine, dataUrl, qa.question);
      assert.equal(whole.choices[0].message.content, offline, qa.question);
      assert.equal(streamed, offline, qa.question);
      const three = await client.chat.completions.create({ ...request, n: 3, temperature: 0.8, seed: 3 });
      assert.equal(three.choices.length, 3);
      const generated = await postJson(`${served.url}/generate`, { text: demoPrompt(qa.question), image_data: dataUrl, sampling_params: { temperature: 0, max_new_tokens: 32 } });
      assert.equal((generated.body as { text: string }).text, offline);
    }
  } finally {
    await served.close();
  }
});
