/**
 * The bundled demo model (models/shapes-vlm: a Qwen2.5-VL-architecture model of 4.4M parameters trained by
 * scripts/train-demo-model on pictures from ./shapes) and how it is asked: SGLang's `qwen2-vl` template, the
 * image first, then the question, exactly as in training.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DecodedImage, GenerateResult, RawImage } from "../core/request.js";
import { IrisError, type IrisErrorCode } from "../core/errors.js";
import type { Engine } from "../engine/engine.js";
import { chatTemplates } from "../tokenizer/chat-templates.js";
import type { RenderedImage } from "./shapes/render.js";

/** models/shapes-vlm at the package root, from src/demo (tsx) or dist/demo (built) alike. */
export const DEMO_MODEL_DIR = fileURLToPath(new URL("../../models/shapes-vlm", import.meta.url));

/**
 * Which shapes generator drew the bundled checkpoint's training pictures (reference.json's generator_version):
 * 1, 112x112 pictures (src/demo/shapes/scene.ts), or 2, drawings of any size (drawing-scene.ts). The demo and
 * its evaluation draw with the same one.
 */
export function demoGeneratorVersion(modelDir = DEMO_MODEL_DIR): 1 | 2 {
  const reference = JSON.parse(readFileSync(join(modelDir, "reference.json"), "utf8")) as { generator_version?: number };
  return reference.generator_version === 2 ? 2 : 1;
}

/** Long enough for the longest description (three shapes, about 20 tokens) and its end token. */
const MAX_ANSWER_TOKENS = 32;

export function demoPrompt(question: string): string {
  const conversation = chatTemplates.get("qwen2-vl").copy();
  conversation.appendMessage(conversation.roles[0], `${conversation.imageToken}${question}`);
  conversation.appendMessage(conversation.roles[1], null);
  return conversation.getPrompt();
}

export function asDecodedImage(image: RenderedImage): DecodedImage {
  return { data: image.data, width: image.width, height: image.height, channels: 3 };
}

/**
 * Greedy answers to several questions about pictures, one batch through the engine. A request that fails (a
 * picture that cannot be loaded, say) fails the whole call with its error: an empty answer would look like the
 * model's.
 */
export async function askAll(engine: Engine, items: readonly { image: RawImage; question: string }[]): Promise<string[]> {
  if (items.length === 0) return [];
  const results: GenerateResult[] = await engine.generate({
    prompt: items.map((item) => demoPrompt(item.question)),
    imageData: items.map((item) => [item.image]),
    samplingParams: { temperature: 0, maxNewTokens: MAX_ANSWER_TOKENS },
  });
  for (const r of results) {
    const finish = r.metaInfo.finishReason;
    if (finish?.type === "abort") throw new IrisError((finish.code ?? "INTERNAL") as IrisErrorCode, finish.message);
  }
  return results.map((r) => r.text.trim());
}
