/**
 * What `iris serve` owes its users beyond answers: the API key on every route but /health, HTTP status by cause
 * (401, 404, 413, 400 for fenced images, 503 with Retry-After past the bounded queue), a client that disconnects
 * aborting its request (streaming or not) and freeing its KV pages, and a drain that finishes requests in flight,
 * refuses new ones, and aborts what is left at its deadline.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { imageHost, metricValue, postJson, SCENE_SEED, sceneDataUrl, serveDemo, type Served } from "../helpers/serve.js";

const KEY = "test-key-5f2c";
const auth = { authorization: `Bearer ${KEY}` };

/** Waits until `check` holds, polling; fails after `ms` (generous: the machine may be loaded). */
async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("iris serve: keys, limits, disconnects and draining", { timeout: 300_000 }, () => {
  let served: Served;
  let dataUrl: string;
  const chat = (extra: Record<string, unknown> = {}, url?: string) => ({
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: url ?? dataUrl } }, { type: "text", text: "Describe the picture." }] }],
    temperature: 0, max_tokens: 32, ...extra,
  });
  /** A generation long enough to still run when the test acts on it. */
  const long = { max_tokens: 900, ignore_eos: true };

  before(async () => {
    served = await serveDemo({ maxRunningRequests: 1 }, { apiKey: KEY, maxQueuedRequests: 1, maxBodyBytes: 256 * 1024 });
    dataUrl = await sceneDataUrl(SCENE_SEED);
  });
  after(async () => served?.close());

  test("the API key: /health is open, everything else needs the bearer key (401 otherwise)", async () => {
    assert.equal((await fetch(`${served.url}/health`)).status, 200);
    for (const path of ["/v1/models", "/metrics", "/get_server_info"]) {
      assert.equal((await fetch(`${served.url}${path}`)).status, 401, path);
      assert.equal((await fetch(`${served.url}${path}`, { headers: { authorization: "Bearer wrong" } })).status, 401, path);
      assert.equal((await fetch(`${served.url}${path}`, { headers: auth })).status, 200, path);
    }
    const denied = await postJson(`${served.url}/v1/chat/completions`, chat(), { authorization: "Bearer wrong" });
    assert.equal(denied.status, 401);
    assert.equal((denied.body as { error: { type: string } }).error.type, "authentication_error");
  });

  test("status by cause: unknown route 404, unknown model 404, body too large 413, bad JSON 400", async () => {
    const route = await postJson(`${served.url}/v1/nothing`, {}, auth);
    assert.equal(route.status, 404);
    const model = await postJson(`${served.url}/v1/chat/completions`, chat({ model: "other" }), auth);
    assert.equal(model.status, 404);
    assert.equal((model.body as { error: { code: string } }).error.code, "model_not_found");
    const big = await postJson(`${served.url}/v1/chat/completions`, chat({}, `data:image/png;base64,${"A".repeat(300 * 1024)}`), auth);
    assert.equal(big.status, 413);
    assert.match((big.body as { error: { message: string } }).error.message, /larger than the server accepts/);
    const json = await fetch(`${served.url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{nope" });
    assert.equal(json.status, 400);
    assert.ok(((await json.json()) as { error: unknown }).error);
  });

  test("images from clients never read local files or reach loopback addresses (400 IMAGE_LOAD)", async () => {
    const host = await imageHost();
    try {
      const loopback = await postJson(`${served.url}/v1/chat/completions`, chat({}, host.url(SCENE_SEED)), auth);
      assert.equal(loopback.status, 400);
      assert.equal((loopback.body as { error: { code: string } }).error.code, "IMAGE_LOAD");
      const path = await postJson(`${served.url}/v1/chat/completions`, chat({}, "/etc/hosts"), auth);
      assert.equal(path.status, 400);
      const generate = await postJson(`${served.url}/generate`, { text: "<|vision_start|><|image_pad|><|vision_end|>hi", image_data: "/etc/hosts" }, auth);
      assert.equal(generate.status, 400);
      assert.equal((generate.body as { error: { code: string } }).error.code, "IMAGE_LOAD");
    } finally {
      await host.close();
    }
  });

  test("past the bounded queue a request gets 503 with Retry-After; the others are answered", async () => {
    // One running and one queued are allowed: of three at once, one is refused.
    const answers = await Promise.all([0, 1, 2].map(() => postJson(`${served.url}/v1/chat/completions`, chat({ max_tokens: 200, ignore_eos: true }), auth)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 200, 503]);
    const refused = answers.find((a) => a.status === 503)!;
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((refused.body as { error: { code: string } }).error.code, "QUEUE_FULL");
  });

  test("a client that disconnects aborts its request, streaming or not, and its KV pages are freed", async () => {
    const engine = served.engine;
    const aborted: string[] = [];
    const abort = engine.abort.bind(engine);
    engine.abort = (rid: string) => {
      aborted.push(rid);
      abort(rid);
    };
    try {
      const idle = await engine.getServerInfo();
      const scrape = async () => (await fetch(`${served.url}/metrics`, { headers: auth })).text();
      const cancelled = 'iris_requests_total{endpoint="chat_completions",outcome="cancelled"}';
      const before = metricValue(await scrape(), cancelled);

      const streaming = new AbortController();
      const response = await fetch(`${served.url}/v1/chat/completions`, {
        method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(chat({ ...long, stream: true })), signal: streaming.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      streaming.abort();

      const plain = new AbortController();
      const pending = fetch(`${served.url}/v1/chat/completions`, {
        method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(chat(long)), signal: plain.signal,
      }).catch((err: Error) => err);
      await until(async () => (await engine.getServerInfo()).internalStates[0].numRunning + (await engine.getServerInfo()).internalStates[0].numWaiting > 0);
      plain.abort();
      assert.equal((await pending as Error).name, "AbortError");

      await until(async () => metricValue(await scrape(), cancelled) - before === 2);
      assert.equal(new Set(aborted.filter((rid) => rid.startsWith("chatcmpl-"))).size, 2, "both requests were aborted in the engine");
      await until(async () => {
        const s = (await engine.getServerInfo()).internalStates[0];
        return s.numRunning === 0 && s.numWaiting === 0;
      });
      const s = (await engine.getServerInfo()).internalStates[0];
      // Pages of the aborted requests are free again, apart from the prompt pages the prefix cache keeps.
      assert.equal(s.freePages + s.cachedPages, idle.internalStates[0].freePages + idle.internalStates[0].cachedPages);
    } finally {
      engine.abort = abort;
    }
  });

  test("draining: the request in flight finishes, new ones are refused, the close resolves", async () => {
    const response = await fetch(`${served.url}/v1/chat/completions`, {
      method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(chat({ max_tokens: 200, ignore_eos: true, stream: true })),
    });
    const reader = response.body!.getReader();
    await reader.read();
    const closing = served.server.close(60_000);
    const refused = await fetch(`${served.url}/v1/models`, { headers: auth }).then((r) => r.status, () => "connection refused");
    assert.ok(refused === 503 || refused === "connection refused", String(refused));
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /"finish_reason":"length"/);
    assert.match(rest, /data: \[DONE\]/);
    assert.deepEqual(await closing, { finished: true, aborted: 0 });
  });
});

describe("iris serve: the drain deadline", { timeout: 120_000 }, () => {
  test("requests still running at the deadline are aborted and their streams end with an error event", async () => {
    const served = await serveDemo();
    try {
      const dataUrl = await sceneDataUrl(SCENE_SEED);
      const response = await fetch(`${served.url}/v1/chat/completions`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: dataUrl } }, { type: "text", text: "Describe it." }] }], max_tokens: 900, ignore_eos: true, stream: true }),
      });
      const reader = response.body!.getReader();
      await reader.read();
      const closed = await served.server.close(50);
      assert.deepEqual(closed, { finished: false, aborted: 1 });
      let rest = "";
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      assert.doesNotMatch(rest, /"finish_reason":"length"/);
      assert.match(rest, /"type":"service_unavailable_error".*"code":"ABORTED"/);
    } finally {
      await served.engine.shutdown();
    }
  });
});
