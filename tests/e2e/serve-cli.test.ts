/**
 * `iris serve` as shipped (bin/iris.js over the built dist/): it prints the address it listens on (port 0 picks a
 * free one), answers with the API key it was given, and on SIGTERM stops accepting, lets the request in flight
 * finish, and exits 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { DEMO_MODEL_DIR } from "../../src/demo/demo-model.js";
import { distIsBuilt, IRIS_BIN, repoRoot, runIris } from "../helpers/cli.js";
import { SCENE_SEED, sceneDataUrl, sceneQuestions } from "../helpers/serve.js";

test("iris serve answers, then drains on SIGTERM and exits 0", { skip: !distIsBuilt() && "dist/ is not built (npm run build)", timeout: 180_000 }, async () => {
  const child = spawn(process.execPath, [IRIS_BIN, "serve", "--model", DEMO_MODEL_DIR, "--port", "0", "--api-key", "k1", "--log-level", "error"], { cwd: repoRoot });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in time:\n${stderr}`)), 120_000);
      child.stderr.on("data", () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void exited.then((code) => reject(new Error(`iris serve exited with ${code}:\n${stderr}`)));
    });
    const headers = { authorization: "Bearer k1", "content-type": "application/json" };
    const qa = (await sceneQuestions(SCENE_SEED))[0];
    const messages = [{ role: "user", content: [{ type: "image_url", image_url: { url: await sceneDataUrl(SCENE_SEED) } }, { type: "text", text: qa.question }] }];
    const answer = await (await fetch(`${url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ messages, temperature: 0 }) })).json() as { choices: { message: { content: string } }[] };
    assert.equal(answer.choices[0].message.content.trim(), qa.answer);

    // A long streamed request is in flight when SIGTERM comes: it finishes, and then the process exits 0.
    const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ messages, max_tokens: 300, ignore_eos: true, stream: true }) });
    const reader = response.body!.getReader();
    await reader.read();
    child.kill("SIGTERM");
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /"finish_reason":"length"/);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: draining/);
    assert.match(stderr, /every request finished/);
  } finally {
    child.kill("SIGKILL");
  }
});

test("iris serve --help lists its flags; a bad flag value is a one-line error", { skip: !distIsBuilt() && "dist/ is not built (npm run build)" }, async () => {
  const help = await runIris(["serve", "--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--api-key", "--max-queued-requests", "--allowed-local-media-path", "--allow-private-image-urls", "--shutdown-timeout", "--device"]) {
    assert.match(help.stdout, new RegExp(flag));
  }
  const bad = await runIris(["serve", "--model", DEMO_MODEL_DIR, "--log-level", "loud"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^iris: INVALID_ARGUMENT: --log-level must be/);
});
