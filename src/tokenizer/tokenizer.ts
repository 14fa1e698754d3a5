/**
 * The tokenizer of a model directory: `tokenizer.json` (byte-level BPE with added and special tokens) run by
 * `@huggingface/tokenizers`, plus the special tokens and decode settings of `tokenizer_config.json`.
 * Results match the Rust `tokenizers` library that transformers uses (checked in tests/unit/tokenizer); where the
 * two libraries' Unicode tables differ, unicode-alignment.ts makes the JS side follow the Rust one.
 */
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { checkArgument, IrisError } from "../core/errors.js";
import { cleanUpTokenizationSpaces } from "./cleanup-spaces.js";
import { isPlainObject, readJsonObject, readOptionalJsonObject } from "./json-files.js";
import { alignWithRustUnicode } from "./unicode-alignment.js";
import { EMPTY_TOKENIZER_CONFIG, parseTokenizerConfig, type TokenizerConfig } from "./tokenizer-config.js";

export interface EncodeOptions {
  /** Run the post-processor (Llama 4 prepends `<|begin_of_text|>`; Qwen adds nothing). Default true, as in HF. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (the added tokens marked special, and those tokenizer_config.json names). */
  skipSpecialTokens?: boolean;
  /** Override the config's `clean_up_tokenization_spaces`. */
  cleanUpTokenizationSpaces?: boolean;
}

interface AddedTokenJson {
  id: number;
  content: string;
  special: boolean;
}

export class Tokenizer {
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly padToken?: string;
  readonly unkToken?: string;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  readonly unkTokenId?: number;
  /** Every special token id: added tokens marked special plus the tokens tokenizer_config.json names. */
  readonly specialTokenIds: ReadonlySet<number>;
  /** Distinct tokens including added ones (Rust `get_vocab_size(true)`); the model's embedding may be larger. */
  readonly vocabSize: number;
  readonly cleanUpSpaces: boolean;
  readonly config: TokenizerConfig;

  private constructor(
    private readonly hf: HfTokenizer,
    config: TokenizerConfig,
    addedTokens: AddedTokenJson[],
    source: string,
  ) {
    this.config = config;
    this.cleanUpSpaces = config.cleanUpTokenizationSpaces;
    this.vocabSize = hf.model?.tokens_to_ids.size ?? 0;
    const idOf = (token: string | undefined, key: string): number | undefined => {
      if (token === undefined) return undefined;
      const id = hf.token_to_id(token);
      if (id === undefined) throw new IrisError("TOKENIZER", `${source}: ${key} "${token}" from tokenizer_config.json is not in the vocabulary`);
      return id;
    };
    this.bosToken = config.bosToken;
    this.eosToken = config.eosToken;
    this.padToken = config.padToken;
    this.unkToken = config.unkToken;
    this.bosTokenId = idOf(config.bosToken, "bos_token");
    this.eosTokenId = idOf(config.eosToken, "eos_token");
    this.padTokenId = idOf(config.padToken, "pad_token");
    this.unkTokenId = idOf(config.unkToken, "unk_token");
    const special = new Set(addedTokens.filter((t) => t.special).map((t) => t.id));
    for (const id of [this.bosTokenId, this.eosTokenId, this.padTokenId, this.unkTokenId]) if (id !== undefined) special.add(id);
    for (const token of config.additionalSpecialTokens) special.add(idOf(token, "special token") as number);
    this.specialTokenIds = special;
  }

  /** Loads `tokenizer.json` (required) and `tokenizer_config.json` (optional, as in transformers) from a model directory. */
  static fromDir(modelDir: string): Tokenizer {
    const tokenizerPath = join(modelDir, "tokenizer.json");
    const configPath = join(modelDir, "tokenizer_config.json");
    const tokenizerJson = readJsonObject(tokenizerPath, "TOKENIZER", "the model directory needs the fast-tokenizer file tokenizer.json");
    const configJson = readOptionalJsonObject(configPath, "TOKENIZER");
    const config = configJson === undefined ? EMPTY_TOKENIZER_CONFIG : parseTokenizerConfig(configJson, configPath);
    return Tokenizer.fromJSON(tokenizerJson, config, tokenizerPath);
  }

  /** Builds a tokenizer from the parsed `tokenizer.json`; `source` names it in errors. */
  static fromJSON(tokenizerJson: unknown, config: TokenizerConfig = EMPTY_TOKENIZER_CONFIG, source = "tokenizer.json"): Tokenizer {
    if (!isPlainObject(tokenizerJson) || !isPlainObject(tokenizerJson.model)) {
      throw new IrisError("TOKENIZER", `${source} has no "model" object; is it a Hugging Face fast-tokenizer file?`);
    }
    const addedTokens = parseAddedTokens(tokenizerJson.added_tokens, source);
    let hf: HfTokenizer;
    try {
      // Decode settings are applied here, not by the library: pass only what the model itself needs.
      hf = new HfTokenizer(tokenizerJson, { clean_up_tokenization_spaces: false, eos_token: config.eosToken });
      alignWithRustUnicode(hf);
    } catch (err) {
      throw new IrisError("TOKENIZER", `${source} could not be loaded: ${(err as Error).message}`, { cause: err });
    }
    return new Tokenizer(hf, config, addedTokens, source);
  }

  encode(text: string, { addSpecialTokens = true }: EncodeOptions = {}): number[] {
    checkArgument(typeof text === "string", `encode() takes a string, got ${typeof text}`);
    return this.hf.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /** Ids outside the vocabulary are left out, as the Rust library does (model vocabularies are padded past it). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const kept: number[] = [];
    for (const id of ids) {
      checkArgument(Number.isInteger(id), `token ids must be integers, got ${id}`);
      if (this.hf.id_to_token(id) === undefined || (skip && this.specialTokenIds.has(id))) continue;
      kept.push(id);
    }
    if (kept.length === 0) return "";
    const text = this.hf.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    return (options.cleanUpTokenizationSpaces ?? this.cleanUpSpaces) ? cleanUpTokenizationSpaces(text) : text;
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.hf.id_to_token(id) : undefined;
  }

  isSpecial(id: number): boolean {
    return this.specialTokenIds.has(id);
  }
}

function parseAddedTokens(value: unknown, source: string): AddedTokenJson[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new IrisError("TOKENIZER", `${source}: "added_tokens" must be a list`);
  return value.map((t: unknown, i) => {
    if (!isPlainObject(t) || !Number.isInteger(t.id) || typeof t.content !== "string") {
      throw new IrisError("TOKENIZER", `${source}: added_tokens[${i}] needs an integer "id" and a string "content"`);
    }
    return { id: t.id as number, content: t.content, special: t.special === true };
  });
}
