/** The prefix cache keys images by content and layout: equal images share, different ones never do. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import { toNumbers } from "../../src/core/host-tensor.js";
import { Llama4Processor } from "../../src/multimodal/llama4-processor.js";
import { loadCases, modelDir } from "../helpers/fixtures.js";

const GREEDY = { temperature: 0, maxNewTokens: 2 };

test("Llama 4: a multi-tile image shared by two prompts is cached whole, up to the next image", async () => {
  const engine = await Engine.create({ modelPath: modelDir("tiny-llama4"), pageSize: 4 });
  try {
    const all = [...loadCases("tiny-llama4"), ...loadCases("tiny-qwen2_5-vl")].flatMap((c) => c.imagePaths);
    const image = (name: string) => all.find((p) => p.endsWith(`${name}.png`))!;
    const prompt = "<|begin_of_text|><|header_start|>user<|header_end|>\n\n<|image|><|image|>Compare.<|eot|><|header_start|>assistant<|header_end|>\n\n";
    await engine.generate({ prompt, imageData: [image("coffee"), image("astronaut")], samplingParams: GREEDY });
    const second = await engine.generate({ prompt, imageData: [image("coffee"), image("chelsea")], samplingParams: GREEDY });
    // Where the second image starts: everything before it (the coffee picture's 5 tiles with separators) is shared.
    const processor = await Llama4Processor.fromPretrained(modelDir("tiny-llama4"), engine.tokenizer);
    const ids = toNumbers((await processor.process({ text: prompt, images: [image("coffee"), image("chelsea")] })).input_ids);
    const config = engine.config;
    if (config.family !== "llama4") return assert.fail("a Llama 4 model");
    const imageStarts = ids.flatMap((id, i) => (id === config.tokens.imageStart ? [i] : []));
    assert.equal(imageStarts.length, 2);
    const secondStart = imageStarts[1];
    assert.ok(secondStart > 700, "the first image spans several tiles");
    // Whole pages of 4 only, and the page holding the second image's first tokens differs.
    assert.ok(second.metaInfo.cachedTokens >= Math.floor(secondStart / 4) * 4 - 4, `cached ${second.metaInfo.cachedTokens}, the second image starts at ${secondStart}`);
    assert.ok(second.metaInfo.cachedTokens <= secondStart + 2, "the second image is not shared");
  } finally {
    await engine.shutdown();
  }
});

test("Qwen2.5-VL: the same pixels in a transposed layout are another image", async () => {
  const engine = await Engine.create({ modelPath: modelDir("tiny-qwen2_5-vl"), pageSize: 4 });
  try {
    const white = (width: number, height: number) => ({ data: new Uint8Array(width * height * 3).fill(255), width, height, channels: 3 as const });
    const prompt = "<|vision_start|><|image_pad|><|vision_end|>Hi";
    const wide = await engine.generate({ prompt, imageData: [white(448, 224)], samplingParams: GREEDY });
    const tall = await engine.generate({ prompt, imageData: [white(224, 448)], samplingParams: GREEDY });
    assert.equal(wide.metaInfo.promptTokens, tall.metaInfo.promptTokens);
    // Only the text before the image could be shared: here a single token, less than a page.
    assert.equal(tall.metaInfo.cachedTokens, 0);
    const again = await engine.generate({ prompt, imageData: [white(224, 448)], samplingParams: GREEDY });
    assert.ok(again.metaInfo.cachedTokens > 0, "the same layout again is a hit");
    assert.deepEqual(again.outputIds, tall.outputIds);
  } finally {
    await engine.shutdown();
  }
});
