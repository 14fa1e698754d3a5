/**
 * `generation_config.json`: the model's end-of-sequence ids and its suggested sampling settings. Iris stops on
 * these eos ids (as SGLang merges them with the config's). The sampling settings are read for callers who want
 * them but not applied: the offline engine's defaults are SGLang's (temperature 1, no penalties) unless a request
 * says otherwise.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { JsonFields, readJsonFile } from "./json-fields.js";
import { optionalInt } from "./decoder-config.js";

export interface GenerationConfig {
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;
  readonly doSample: boolean | undefined;
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly topK: number | undefined;
  readonly repetitionPenalty: number | undefined;
  readonly maxNewTokens: number | undefined;
}

const EMPTY: GenerationConfig = Object.freeze({
  bosTokenId: undefined, eosTokenIds: [], padTokenId: undefined, doSample: undefined, temperature: undefined,
  topP: undefined, topK: undefined, repetitionPenalty: undefined, maxNewTokens: undefined,
});

/** Reads `generation_config.json` from a model directory; a directory without one gets empty settings. */
export function loadGenerationConfig(modelDir: string): GenerationConfig {
  const path = join(modelDir, "generation_config.json");
  if (!existsSync(path)) return EMPTY;
  const f = new JsonFields(readJsonFile(path), path);
  const optionalNum = (key: string) => (f.has(key) ? f.num(key) : undefined);
  return Object.freeze({
    bosTokenId: optionalInt(f, "bos_token_id"),
    eosTokenIds: Object.freeze(f.intList("eos_token_id", [])),
    padTokenId: optionalInt(f, "pad_token_id"),
    doSample: f.has("do_sample") ? f.bool("do_sample") : undefined,
    temperature: optionalNum("temperature"),
    topP: optionalNum("top_p"),
    topK: optionalInt(f, "top_k"),
    repetitionPenalty: optionalNum("repetition_penalty"),
    maxNewTokens: optionalInt(f, "max_new_tokens"),
  });
}
