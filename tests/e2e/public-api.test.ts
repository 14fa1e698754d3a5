/** The example of design.md, written against the package's public entry point. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AutoProcessor, Engine, chatTemplates, toNumbers, type GenerateResult } from "../../src/index.js";
import { loadCases, modelDir } from "../helpers/fixtures.js";

test("the design example: template, raw image, processor output, precomputed embeddings, streaming", async () => {
  const modelPath = modelDir("tiny-qwen2_5-vl");
  const photo = loadCases("tiny-qwen2_5-vl").find((c) => c.name === "one_image")!.imagePaths[0];
  const llm = await Engine.create({ modelPath, chatTemplate: "qwen2-vl" });
  try {
    const conv = chatTemplates.get("qwen2-vl").copy();
    conv.appendMessage(conv.roles[0], `What's shown here: ${conv.imageToken}?`);
    conv.appendMessage(conv.roles[1], "");
    const prompt = conv.getPrompt();
    assert.equal(llm.conversation().getPrompt(), chatTemplates.get("qwen2-vl").getPrompt());
    const samplingParams = { maxNewTokens: 8, temperature: 0 };

    const out = await llm.generate({ prompt, imageData: [photo], samplingParams });
    assert.equal(out.outputIds.length, 8);

    const processor = await AutoProcessor.fromPretrained(modelPath);
    const po = await processor.process({ text: prompt, images: [photo] });
    const viaProcessor = await llm.generate({ inputIds: toNumbers(po.input_ids), imageData: [{ ...po, format: "processor_output" }], samplingParams });
    assert.deepEqual(viaProcessor.outputIds, out.outputIds);

    const feature = await llm.encodeImages([{ ...po, format: "processor_output" }]);
    const viaEmbeddings = await llm.generate({
      inputIds: toNumbers(po.input_ids),
      imageData: [{ ...po, format: "precomputed_embedding", feature }],
      samplingParams,
    });
    assert.deepEqual(viaEmbeddings.outputIds, out.outputIds);

    let streamed = "";
    let last: GenerateResult["metaInfo"] | undefined;
    for await (const chunk of llm.generateStream({ prompt, imageData: [photo], samplingParams })) {
      streamed += chunk.delta;
      last = chunk.metaInfo;
    }
    assert.equal(streamed, out.text);
    assert.deepEqual(last?.finishReason, { type: "length", length: 8 });
  } finally {
    await llm.shutdown();
  }
});
