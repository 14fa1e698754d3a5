/**
 * `config.json` normalized once into a typed, frozen `ModelConfig`. This is the only place that knows the two
 * layouts a checkpoint comes in: the Hub layout (text fields at the top level for Qwen2.5-VL, `rope_scaling`,
 * `torch_dtype`) and the transformers 5 layout (`text_config`, `rope_parameters`, `dtype`). Nothing else reads raw
 * config JSON.
 */
import { IrisError } from "../core/errors.js";
import { JsonFields, readJsonFile, type Json } from "./json-fields.js";
export type { DecoderConfig, RopeScaling } from "./decoder-config.js";
import { readLlama4Config, type Llama4Config } from "./llama4-config.js";
import { readQwen2_5_VLConfig, type Qwen2_5_VLConfig } from "./qwen2-5-vl-config.js";

export type { Llama4Config, Llama4TextConfig, Llama4VisionConfig } from "./llama4-config.js";
export type { Qwen2_5_VLConfig, QwenVisionConfig } from "./qwen2-5-vl-config.js";

export type ModelConfig = Qwen2_5_VLConfig | Llama4Config;
export type ModelFamily = ModelConfig["family"];

/** The architectures Iris runs, by the name in `config.json`'s `architectures`. */
const READERS: Record<string, (root: JsonFields) => ModelConfig> = {
  Qwen2_5_VLForConditionalGeneration: readQwen2_5_VLConfig,
  Llama4ForConditionalGeneration: readLlama4Config,
};

export const SUPPORTED_ARCHITECTURES: readonly string[] = Object.keys(READERS);

/** Normalizes a parsed `config.json`; `where` names its source in error messages. */
export function modelConfigFromHF(json: Json, where = "config.json"): ModelConfig {
  const root = new JsonFields(json, where);
  const architectures = json.architectures;
  if (!Array.isArray(architectures) || architectures.length === 0 || typeof architectures[0] !== "string") {
    throw new IrisError("CONFIG_INVALID", `${where}: "architectures" must be a non-empty list of names, got ${JSON.stringify(architectures)}`);
  }
  const name = architectures[0];
  const reader = READERS[name];
  if (!reader) {
    throw new IrisError(
      "UNSUPPORTED_ARCHITECTURE",
      `${where}: architecture ${name} is not supported; Iris runs ${SUPPORTED_ARCHITECTURES.join(", ")}`,
    );
  }
  return deepFreeze(reader(root));
}

export function loadModelConfig(path: string): ModelConfig {
  return modelConfigFromHF(readJsonFile(path), path);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** `ModelConfig.fromHF(json)` and `ModelConfig.load(path)`, the names SGLang and mini-sglang readers expect. */
export const ModelConfig = { fromHF: modelConfigFromHF, load: loadModelConfig } as const;
