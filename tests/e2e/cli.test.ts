/**
 * The `iris generate` command as shipped (bin/iris.js over the built dist/; `npm test` builds it first): one JSON
 * object on stdout with the reference's greedy tokens, the chat template wrapping, processor-output and embeddings
 * files, and a one-line typed error for bad input.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveSafetensors } from "../../src/checkpoint/safetensors.js";
import { int64Tensor, toNumbers } from "../../src/core/host-tensor.js";
import { Engine } from "../../src/engine/engine.js";
import { Qwen2_5VLProcessor } from "../../src/multimodal/qwen2-5-vl-processor.js";
import { chatTemplates } from "../../src/tokenizer/chat-templates.js";
import { loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { greedyMismatch } from "../helpers/greedy.js";
import { floats } from "../helpers/numerics.js";
import { CliPool, distIsBuilt, type CliRun } from "../helpers/cli.js";
import { LLAMA4, QWEN, casesByName, greedy } from "../helpers/engine-helpers.js";

const GREEDY_FLAGS = ["--temperature", "0", "--max-new-tokens", "12", "--ignore-eos", "--json"];
const qwenCases = casesByName(QWEN);
const llamaCases = casesByName(LLAMA4);
const QUESTION = "What's shown here?";

interface JsonResult {
  text: string;
  output_ids: number[];
  meta_info: { id: string; prompt_tokens: number; completion_tokens: number; cached_tokens: number; finish_reason: unknown };
}

/** A successful run: exit 0 and stdout exactly one line holding one JSON object. */
function parseJson(run: CliRun): JsonResult {
  assert.equal(run.code, 0, `iris failed: ${run.stderr}`);
  const lines = run.stdout.split("\n");
  assert.equal(lines.length, 2, `stdout must be one JSON line, got ${JSON.stringify(run.stdout.slice(0, 300))}`);
  assert.equal(lines[1], "");
  const parsed = JSON.parse(lines[0]) as JsonResult;
  assert.equal(typeof parsed, "object");
  assert.deepEqual(Object.keys(parsed).sort(), ["meta_info", "output_ids", "text"]);
  assert.deepEqual(parsed.meta_info.finish_reason, { type: "length", length: 12 });
  assert.equal(parsed.meta_info.completion_tokens, 12);
  return parsed;
}

/** A failed run: non-zero exit, nothing on stdout, one line `iris: CODE: message` on stderr. */
function assertOneLineError(run: CliRun, code?: string): void {
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `stderr must be one line, got:\n${run.stderr}`);
  assert.match(lines[0], /^iris: [A-Z_]+: \S.*$/);
  if (code) assert.ok(lines[0].startsWith(`iris: ${code}: `), lines[0]);
}

describe("iris generate", () => {
  const qwen = modelDir(QWEN);
  const oneImage = qwenCases.one_image;
  const twoImages = qwenCases.two_images;
  const llamaOneImage = llamaCases.one_image;
  const textPrompt = qwenCases.text_only.prompt;
  // Each run loads a model in its own process: run two at a time, started as soon as their inputs exist.
  const pool = new CliPool(2);
  const runs: Record<string, Promise<CliRun>> = {};
  let engine: Engine;
  let dir: string;

  before(async () => {
    assert.ok(distIsBuilt(), "dist/ is missing: run `npm run build` (npm test builds it)");
    dir = mkdtempSync(join(tmpdir(), "iris-cli-test-"));
    const start = (name: string, args: string[]) => (runs[name] = pool.run(args));
    start("missingModel", ["generate", "--model", "/nonexistent/iris-model", "--prompt", textPrompt, "--json"]);
    start("notANumber", ["generate", "--model", qwen, "--prompt", textPrompt, "--temperature", "warm", "--json"]);
    start("unknownFlag", ["generate", "--model", qwen, "--prompt", textPrompt, "--no-such-flag", "--json"]);
    start("missingFlag", ["generate", "--prompt", textPrompt, "--json"]);
    start("twoImages", ["generate", "--model", qwen, "--prompt", twoImages.prompt, ...twoImages.imagePaths.flatMap((p) => ["--image", p]), ...GREEDY_FLAGS]);
    start("llama", ["generate", "--model", modelDir(LLAMA4), "--prompt", llamaOneImage.prompt, "--image", llamaOneImage.imagePaths[0], ...GREEDY_FLAGS]);
    start("chatTemplate", ["generate", "--model", qwen, "--chat-template", "qwen2-vl", "--prompt", QUESTION, "--image", oneImage.imagePaths[0], ...GREEDY_FLAGS]);
    start("outOfRange", ["generate", "--model", qwen, "--prompt", textPrompt, "--max-new-tokens", "-3", "--json"]);

    engine = await Engine.create({ modelPath: qwen });
    const processor = await Qwen2_5VLProcessor.fromPretrained(qwen, engine.tokenizer);
    const po = await processor.process({ text: oneImage.prompt, images: oneImage.imagePaths });
    const inputIds = toNumbers(po.input_ids);
    // As a Python processor saves them: input_ids [1, L].
    const processorFile = join(dir, "processor_output.safetensors");
    saveSafetensors(processorFile, { pixel_values: po.pixel_values!, image_grid_thw: po.image_grid_thw!, input_ids: int64Tensor([1, inputIds.length], inputIds) });
    start("processorOutput", ["generate", "--model", qwen, "--processor-output", processorFile, ...GREEDY_FLAGS]);
    const feature = await engine.encodeImages([{ ...po, format: "processor_output" }]);
    const embeddingsFile = join(dir, "embeddings.safetensors");
    saveSafetensors(embeddingsFile, { feature, image_grid_thw: po.image_grid_thw!, input_ids: po.input_ids });
    start("embeddings", ["generate", "--model", qwen, "--embeddings", embeddingsFile, ...GREEDY_FLAGS]);
  });
  after(async () => {
    await Promise.all(Object.values(runs));
    await engine?.shutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("--json with two --image flags (Qwen2.5-VL): the reference's greedy tokens and prompt length", async () => {
    const ref = loadCaseTensors(QWEN, twoImages.name);
    const out = parseJson(await runs.twoImages);
    assert.equal(out.meta_info.prompt_tokens, twoImages.n_prompt_tokens);
    const mismatch = greedyMismatch(out.output_ids, twoImages.greedy_tokens, floats(ref.greedy_margins));
    assert.equal(mismatch, null, mismatch ?? "");
    assert.equal(out.text, engine.tokenizer.decode(out.output_ids));
  });

  test("--json for Llama 4: the reference's greedy tokens and prompt length", async () => {
    const ref = loadCaseTensors(LLAMA4, llamaOneImage.name);
    const out = parseJson(await runs.llama);
    assert.equal(out.meta_info.prompt_tokens, llamaOneImage.n_prompt_tokens);
    const mismatch = greedyMismatch(out.output_ids, llamaOneImage.greedy_tokens, floats(ref.greedy_margins));
    assert.equal(mismatch, null, mismatch ?? "");
  });

  test("--chat-template qwen2-vl wraps a plain prompt as the template does (image first), as the engine runs it", async () => {
    const conv = chatTemplates.get("qwen2-vl").copy();
    conv.appendMessage(conv.roles[0], `${conv.imageToken}${QUESTION}`);
    conv.appendMessage(conv.roles[1], null);
    const prompt = conv.getPrompt();
    // The template renders exactly the fixture's prompt.
    assert.equal(prompt, oneImage.prompt);
    const viaEngine = await engine.generate({ prompt, imageData: oneImage.imagePaths, samplingParams: greedy(12) });
    const out = parseJson(await runs.chatTemplate);
    assert.deepEqual(out.output_ids, viaEngine.outputIds);
    assert.equal(out.text, viaEngine.text);
    assert.equal(out.meta_info.prompt_tokens, oneImage.n_prompt_tokens);
  });

  test("--processor-output FILE (pixel_values, image_grid_thw, input_ids) gives the raw image's tokens", async () => {
    const out = parseJson(await runs.processorOutput);
    assert.deepEqual(out.output_ids, parseJson(await runs.chatTemplate).output_ids);
    assert.equal(out.meta_info.prompt_tokens, oneImage.n_prompt_tokens);
  });

  test("--embeddings FILE (feature, image_grid_thw, input_ids) gives the raw image's tokens", async () => {
    const out = parseJson(await runs.embeddings);
    assert.deepEqual(out.output_ids, parseJson(await runs.chatTemplate).output_ids);
    assert.equal(out.meta_info.prompt_tokens, oneImage.n_prompt_tokens);
  });

  describe("bad input: a non-zero exit, nothing on stdout, one line `iris: CODE: message` on stderr", () => {
    test("a model directory that does not exist", async () => {
      assertOneLineError(await runs.missingModel, "MODEL_LOAD");
    });

    test("a flag value that is not a number", async () => {
      assertOneLineError(await runs.notANumber, "INVALID_ARGUMENT");
    });

    test("an unknown flag", async () => {
      assertOneLineError(await runs.unknownFlag);
    });

    test("a missing required flag (--model)", async () => {
      assertOneLineError(await runs.missingFlag);
    });

    test("a sampling flag out of range (--max-new-tokens -3)", async () => {
      assertOneLineError(await runs.outOfRange, "INVALID_ARGUMENT");
    });
  });
});
