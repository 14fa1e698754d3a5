/**
 * `iris generate`'s sampling, context, device and streaming flags, on the bundled model: each flag reaches the engine
 * as the sampling parameter or option of the same name (the command and the API give the same tokens), and raw
 * images with a prompt that lacks their placeholders get the --chat-template hint before the model loads.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { DEMO_MODEL_DIR, demoPrompt } from "../../src/demo/demo-model.js";
import { generateScene, renderScene } from "../../src/demo/shapes/index.js";
import { Engine } from "../../src/engine/engine.js";
import { runIris } from "../helpers/cli.js";

const QUESTION = "Describe the picture.";

describe("iris generate flags", () => {
  let dir: string;
  let photo: string;
  let engine: Engine;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "iris-cli-flags-"));
    photo = join(dir, "shapes.png");
    const picture = renderScene(generateScene(7));
    writeFileSync(photo, await sharp(picture.data, { raw: { width: picture.width, height: picture.height, channels: 3 } }).png().toBuffer());
    engine = await Engine.create({ modelPath: DEMO_MODEL_DIR });
  });
  after(async () => {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ["generate", "--model", DEMO_MODEL_DIR, "--chat-template", "qwen2-vl", "--prompt", QUESTION, "--image", photo];

  test("the sampling flags give the tokens of the same parameters through the API", async () => {
    const flags = ["--temperature", "1", "--seed", "5", "--min-p", "0.05", "--repetition-penalty", "1.3", "--frequency-penalty", "0.5",
      "--presence-penalty", "0.4", "--min-new-tokens", "12", "--max-new-tokens", "16", "--top-k", "20", "--top-p", "0.9"];
    const run = await runIris([...base(), ...flags, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const cli = JSON.parse(run.stdout) as { output_ids: number[] };
    const api = await engine.generate({
      prompt: demoPrompt(QUESTION), imageData: [photo],
      samplingParams: { temperature: 1, samplingSeed: 5, minP: 0.05, repetitionPenalty: 1.3, frequencyPenalty: 0.5, presencePenalty: 0.4, minNewTokens: 12, maxNewTokens: 16, topK: 20, topP: 0.9 },
    });
    assert.deepEqual(cli.output_ids, api.outputIds);
    assert.ok(cli.output_ids.length >= 12, "--min-new-tokens held the end token back");
  });

  test("--n gives a list of n samples under --json, the API's samples for the same seed; --logprobs k fills meta_info", async () => {
    const run = await runIris([...base(), "--temperature", "1", "--seed", "9", "--max-new-tokens", "8", "--ignore-eos", "--n", "3", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const cli = JSON.parse(run.stdout) as { output_ids: number[] }[];
    assert.ok(Array.isArray(cli) && cli.length === 3, run.stdout);
    const api = await engine.generate({
      prompt: demoPrompt(QUESTION), imageData: [photo], samplingParams: { temperature: 1, samplingSeed: 9, maxNewTokens: 8, ignoreEos: true, n: 3 },
    });
    assert.ok(Array.isArray(api));
    assert.deepEqual(cli.map((r) => r.output_ids), api.map((r) => r.outputIds));
    const logprobs = await runIris([...base(), "--temperature", "0", "--max-new-tokens", "3", "--logprobs", "2", "--json"]);
    assert.equal(logprobs.code, 0, logprobs.stderr);
    const meta = (JSON.parse(logprobs.stdout) as { output_ids: number[]; meta_info: { output_token_logprobs: [number, number, null][]; output_top_logprobs: [number, number, null][][] } });
    assert.deepEqual(meta.meta_info.output_token_logprobs.map((t) => t[1]), meta.output_ids);
    assert.equal(meta.meta_info.output_top_logprobs[0].length, 2);
    assert.equal(meta.meta_info.output_top_logprobs[0][0][1], meta.output_ids[0], "greedy: the chosen token is the top one");
    const streamed = await runIris([...base(), "--n", "2", "--stream"]);
    assert.notEqual(streamed.code, 0);
    assert.match(streamed.stderr, /with --n above 1 leave out --stream/);
  });

  test("--stop ends the text before the stop string; --stream prints the same text as it comes", async () => {
    const full = await engine.generate({ prompt: demoPrompt(QUESTION), imageData: [photo], samplingParams: { temperature: 0 } });
    const words = full.text.split(" ");
    assert.ok(words.length >= 3, full.text);
    const stopAt = ` ${words[2]}`;
    const stopped = await runIris([...base(), "--temperature", "0", "--stop", "never-there", "--stop", stopAt, "--json"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const result = JSON.parse(stopped.stdout) as { text: string; meta_info: { finish_reason: unknown } };
    assert.equal(result.text, full.text.slice(0, full.text.indexOf(stopAt)));
    assert.deepEqual(result.meta_info.finish_reason, { type: "stop", matched: stopAt });

    const streamed = await runIris([...base(), "--temperature", "0", "--stream"]);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.equal(streamed.stdout, `${full.text}\n`);
  });

  test("--context-length and --device reach the engine", async () => {
    const short = await runIris([...base(), "--context-length", "40"]);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /iris: CONTEXT_TOO_LONG: .*context length \(40 tokens\)/);
    const device = await runIris([...base(), "--device", "gpu"]);
    assert.match(device.stderr, /iris: INVALID_ARGUMENT: device must be "cpu" or "cuda", got "gpu"/);
    const both = await runIris([...base(), "--stream", "--json"]);
    assert.match(both.stderr, /iris: INVALID_ARGUMENT: use --stream .* or --json/);
  });

  test("--image with a plain prompt and no --chat-template: the hint comes before the model loads", async () => {
    const run = await runIris(["generate", "--model", DEMO_MODEL_DIR, "--prompt", QUESTION, "--image", photo]);
    assert.notEqual(run.code, 0);
    // One line: the memory plan the load would print first never came.
    assert.equal(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /^iris: IMAGE_TOKEN_MISMATCH: the prompt holds 0 image placeholders .* for 1 --image files.*add --chat-template qwen2-vl/);
  });
});
