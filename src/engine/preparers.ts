/** Picks the request preparation of the model's family, with its processor built from the model directory. */
import type { ModelConfig } from "../checkpoint/model-config.js";
import type { ImageFeaturizer } from "../multimodal/image-features.js";
import { Llama4Processor } from "../multimodal/llama4-processor.js";
import { Qwen2_5VLProcessor } from "../multimodal/qwen2-5-vl-processor.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { Llama4Preparer } from "./llama4-preparer.js";
import type { FamilyPreparer } from "./prompt-preparer.js";
import { QwenPreparer } from "./qwen-preparer.js";

/**
 * @param featurizer where images are loaded and processed (a pool of workers, or this thread when undefined)
 * @param patchifyOnDevice raw Qwen2.5-VL pictures travel resized as 8-bit bytes and the device rescales,
 * normalizes and cuts them into patches (Llama 4 keeps its processor's tiles)
 * @param keyEmbeddings whether precomputed embeddings get content keys: only the prefix cache reads theirs (pictures'
 * keys also find the vision tower's output in the embedding cache), so without it hashing their megabytes on the
 * caller's thread is wasted (~2.5 ms of a ~15 ms time to first token for one 512x512 picture's 2.65 MB, H200 host)
 */
export async function createPreparer(config: ModelConfig, modelPath: string, tokenizer: Tokenizer,
  featurizer?: ImageFeaturizer, patchifyOnDevice = false, keyEmbeddings = true): Promise<FamilyPreparer> {
  if (config.family === "qwen2_5_vl") {
    const processor = await Qwen2_5VLProcessor.fromPretrained(modelPath, tokenizer, featurizer);
    return new QwenPreparer(config, processor, patchifyOnDevice ? "rgb8" : "patches", keyEmbeddings);
  }
  return new Llama4Preparer(config, await Llama4Processor.fromPretrained(modelPath, tokenizer, featurizer), keyEmbeddings);
}
