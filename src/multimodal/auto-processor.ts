/**
 * `AutoProcessor.fromPretrained(dir)`: the processor of the model in `dir` (chosen by its config), with the model's
 * tokenizer, as transformers' AutoProcessor gives it. `process({ text, images })` returns `input_ids`,
 * `pixel_values` and, for Qwen2.5-VL, `image_grid_thw`; the tensors keep Hugging Face's names.
 */
import { join } from "node:path";
import { loadModelConfig } from "../checkpoint/model-config.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { Llama4Processor } from "./llama4-processor.js";
import { Qwen2_5VLProcessor } from "./qwen2-5-vl-processor.js";

export type Processor = Qwen2_5VLProcessor | Llama4Processor;

export const AutoProcessor = {
  async fromPretrained(modelDir: string, tokenizer?: Tokenizer): Promise<Processor> {
    const config = loadModelConfig(join(modelDir, "config.json"));
    const tok = tokenizer ?? Tokenizer.fromDir(modelDir);
    return config.family === "qwen2_5_vl"
      ? Qwen2_5VLProcessor.fromPretrained(modelDir, tok)
      : Llama4Processor.fromPretrained(modelDir, tok);
  },
} as const;
