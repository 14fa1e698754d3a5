/**
 * The fields of `tokenizer_config.json` the tokenizer and the chat template need, in camelCase.
 * Transformers 4 and 5 write the file differently (5 drops null tokens and renames `additional_special_tokens`
 * to `extra_special_tokens`); both read the same here.
 */
import { IrisError } from "../core/errors.js";
import { isPlainObject } from "./json-files.js";

export interface TokenizerConfig {
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  unkToken?: string;
  /** Tokens the config names as special beyond bos/eos/pad/unk. */
  additionalSpecialTokens: string[];
  /** Transformers' post-decode clean-up (" ." -> "."); off unless the config turns it on, as in transformers >= 4.45. */
  cleanUpTokenizationSpaces: boolean;
  /** The raw `chat_template` entry: a string, or a list of named templates. */
  chatTemplate?: unknown;
}

/** Parses the JSON object of `tokenizer_config.json`; `path` names the file in errors. */
export function parseTokenizerConfig(json: Record<string, unknown>, path: string): TokenizerConfig {
  return {
    bosToken: tokenContent(json.bos_token, "bos_token", path),
    eosToken: tokenContent(json.eos_token, "eos_token", path),
    padToken: tokenContent(json.pad_token, "pad_token", path),
    unkToken: tokenContent(json.unk_token, "unk_token", path),
    additionalSpecialTokens: [
      ...tokenList(json.additional_special_tokens, "additional_special_tokens", path),
      ...tokenList(json.extra_special_tokens, "extra_special_tokens", path),
    ],
    cleanUpTokenizationSpaces: json.clean_up_tokenization_spaces === true,
    chatTemplate: json.chat_template ?? undefined,
  };
}

export const EMPTY_TOKENIZER_CONFIG: TokenizerConfig = { additionalSpecialTokens: [], cleanUpTokenizationSpaces: false };

// A special token is written as a string, as null, or (older files) as a serialized AddedToken object.
function tokenContent(value: unknown, key: string, path: string): string | undefined {
  if (value == null) return undefined;
  if (typeof value === "string") return value;
  if (isPlainObject(value) && typeof value.content === "string") return value.content;
  throw new IrisError("TOKENIZER", `${path}: "${key}" must be a string or an object with "content", got ${JSON.stringify(value)}`);
}

// A list of tokens, or (transformers 5) an object mapping attribute names to tokens.
function tokenList(value: unknown, key: string, path: string): string[] {
  if (value == null) return [];
  const items = Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : undefined;
  if (items === undefined) throw new IrisError("TOKENIZER", `${path}: "${key}" must be a list of tokens`);
  return items.map((item, i) => {
    const content = tokenContent(item, `${key}[${i}]`, path);
    if (content === undefined) throw new IrisError("TOKENIZER", `${path}: "${key}[${i}]" is empty`);
    return content;
  });
}
