/**
 * `iris demo`'s edges: a picture that cannot be loaded is an error and a non-zero exit (not empty answers), a bad
 * --eval count is one line, the load progress ends before the first answer, and a training seed says so.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { runDemo } from "../../src/demo/run-demo.js";
import { runIris } from "../helpers/cli.js";

const noAnswers = (stdout: string) => !stdout.split("\n").some((line) => line.trim().startsWith("A:"));

test("iris demo --image with a missing file prints the error and exits non-zero", async () => {
  const missing = join(tmpdir(), `iris-no-such-picture-${process.pid}.png`);
  const run = await runIris(["demo", "--no-color", "--image", missing]);
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stderr, /^iris: IMAGE_LOAD: /);
  assert.ok(run.stderr.includes(missing), run.stderr);
  assert.ok(noAnswers(run.stdout), run.stdout);
});

test("iris demo --image with a URL that fails prints the error and exits non-zero", async () => {
  const server = createServer((_, res) => res.writeHead(404).end("not here"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/drawing.png`;
    const run = await runIris(["demo", "--no-color", "--image", url]);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /^iris: IMAGE_LOAD: .*404/);
    assert.ok(noAnswers(run.stdout), run.stdout);
  } finally {
    server.close();
  }
});

test("iris demo --eval 0 (and other bad counts) is a one-line error, not a stack trace", async () => {
  for (const count of ["0", "-3", "two"]) {
    const run = await runIris(["demo", "--eval", count]);
    assert.equal(run.code, 1, `--eval ${count}`);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^iris: INVALID_ARGUMENT: --eval must be an integer from 1 to \d+, got /);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  }
});

test("the demo's load progress is finished before the first line is printed", async () => {
  const events: string[] = [];
  await runDemo({
    color: false,
    print: (line) => events.push(`print ${line}`),
    onProgress: () => events.push("progress"),
    onLoaded: () => events.push("loaded"),
  });
  const loaded = events.indexOf("loaded");
  assert.ok(loaded >= 0);
  assert.ok(events.slice(0, loaded).every((e) => e === "progress"), "nothing printed before the model is loaded");
  assert.ok(events.slice(loaded + 1).every((e) => e !== "progress"), "no progress after the load");
});

test("a scene from the training seeds is marked as such; a held-out one is not", async () => {
  const training = await runIris(["demo", "--no-color", "--seed", "5"]);
  assert.equal(training.code, 0, training.stderr);
  assert.match(training.stdout, /a training seed/);
  const heldOut = await runIris(["demo", "--no-color"]);
  assert.equal(heldOut.code, 0, heldOut.stderr);
  assert.doesNotMatch(heldOut.stdout, /training seed/);
});

test("iris demo --quantization fp8 --eval scores the FP8 model; another value is a one-line error", async () => {
  const run = await runIris(["demo", "--quantization", "fp8", "--eval", "10", "--json"], 120_000);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { pictures: number; questions: number; accuracy: number };
  assert.equal(result.pictures, 10);
  assert.ok(result.questions > 0 && result.accuracy >= 0 && result.accuracy <= 1, run.stdout);
  const bad = await runIris(["demo", "--quantization", "int8", "--eval", "10"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^iris: INVALID_ARGUMENT: --quantization must be fp8, got int8/);
});
