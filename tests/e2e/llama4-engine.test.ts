/**
 * Llama 4 through the Engine, for both checkpoint layouts: greedy tokens against the reference for every case, and
 * the three image formats (raw image, processor output, precomputed embeddings) giving the same tokens. The prefix
 * cache is off so that every format runs its own vision encoder and prefill.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { toNumbers } from "../../src/core/host-tensor.js";
import type { GenerateResult } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { Llama4Processor } from "../../src/multimodal/llama4-processor.js";
import { LAYOUTS, loadCaseTensors, loadCases, modelDir } from "../helpers/fixtures.js";
import { greedyMismatch } from "../helpers/greedy.js";
import { floats, relativeL2 } from "../helpers/numerics.js";
import { LLAMA4, greedy } from "../helpers/engine-helpers.js";

const GREEDY = greedy(12);

for (const layout of LAYOUTS[LLAMA4]) {
  describe(`${layout} through the Engine`, () => {
    let engine: Engine;
    const raw = new Map<string, GenerateResult>();
    before(async () => {
      engine = await Engine.create({ modelPath: modelDir(layout), disableRadixCache: true });
    });
    after(() => engine.shutdown());

    for (const c of loadCases(LLAMA4)) {
      test(`${c.name}: greedy tokens equal the reference`, async () => {
        const ref = loadCaseTensors(LLAMA4, c.name);
        const out = await engine.generate({ prompt: c.prompt, imageData: c.imagePaths, samplingParams: GREEDY });
        raw.set(c.name, out);
        assert.equal(out.metaInfo.promptTokens, c.n_prompt_tokens);
        const mismatch = greedyMismatch(out.outputIds, c.greedy_tokens, floats(ref.greedy_margins));
        assert.equal(mismatch, null, mismatch ?? "");
        assert.deepEqual(out.metaInfo.finishReason, { type: "length", length: 12 });
        assert.equal(out.text, engine.tokenizer.decode(out.outputIds));
      });
    }

    test("one_image: processor output, the reference's pixels and precomputed embeddings give the raw image's tokens", async () => {
      const c = loadCases(LLAMA4).find((x) => x.name === "one_image")!;
      const ref = loadCaseTensors(LLAMA4, c.name);
      const margins = floats(ref.greedy_margins);
      const fromRaw = raw.get(c.name) ?? (await engine.generate({ prompt: c.prompt, imageData: c.imagePaths, samplingParams: GREEDY }));

      // Iris's own processor: the same ids as the reference processor, and tiles for the engine.
      const processor = await Llama4Processor.fromPretrained(modelDir(layout), engine.tokenizer);
      const po = await processor.process({ text: c.prompt, images: c.imagePaths });
      const inputIds = toNumbers(po.input_ids);
      assert.deepEqual(inputIds, toNumbers(ref.input_ids));
      const fromProcessor = await engine.generate({ inputIds, imageData: [{ ...po, format: "processor_output" }], samplingParams: GREEDY });
      assert.deepEqual(fromProcessor.outputIds, fromRaw.outputIds);
      assert.equal(fromProcessor.metaInfo.promptTokens, c.n_prompt_tokens);

      // The same pixels with the text prompt: aspect_ratios expand its one <|image|> placeholder.
      const aspectRatios = po.aspectRatios.map(([rows, cols]) => [rows, cols]);
      const fromPrompt = await engine.generate({
        prompt: c.prompt,
        imageData: [{ format: "processor_output", pixel_values: po.pixel_values, aspect_ratios: aspectRatios }],
        samplingParams: GREEDY,
      });
      assert.deepEqual(fromPrompt.outputIds, fromRaw.outputIds);
      assert.equal(fromPrompt.metaInfo.promptTokens, c.n_prompt_tokens);

      // The reference's own processor output, as Python saved it: float16 pixels, expanded ids.
      assert.equal(ref.pixel_values.dtype, "F16");
      const fromPython = await engine.generate({
        inputIds: toNumbers(ref.input_ids),
        imageData: [{ format: "processor_output", pixel_values: ref.pixel_values }],
        samplingParams: GREEDY,
      });
      const pythonMismatch = greedyMismatch(fromPython.outputIds, c.greedy_tokens, margins);
      assert.equal(pythonMismatch, null, pythonMismatch ?? "");
      assert.equal(greedyMismatch(fromPython.outputIds, fromRaw.outputIds, margins), null);

      // Precomputed embeddings from the engine's own vision encoder.
      const feature = await engine.encodeImages([{ ...po, format: "processor_output" }]);
      assert.deepEqual(feature.shape, ref.image_embeds.shape);
      const error = relativeL2(feature.data as Float32Array, floats(ref.image_embeds));
      assert.ok(error < 1e-4, `encodeImages relative error ${error}`);
      const fromEmbeddings = await engine.generate({
        inputIds,
        imageData: [{ format: "precomputed_embedding", feature }],
        samplingParams: GREEDY,
      });
      assert.deepEqual(fromEmbeddings.outputIds, fromRaw.outputIds);
      assert.equal(fromEmbeddings.metaInfo.promptTokens, c.n_prompt_tokens);
    });
  });
}
