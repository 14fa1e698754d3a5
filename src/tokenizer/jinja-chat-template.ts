/**
 * A model's own Jinja chat template, rendered from OpenAI-style messages as transformers'
 * `apply_chat_template(..., tokenize=False)` does: `@huggingface/jinja` with trim_blocks and lstrip_blocks,
 * the tokenizer's special tokens as variables, `add_generation_prompt`, and optional tools and extra variables.
 */
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { IrisError } from "../core/errors.js";
import { findChatTemplates, selectChatTemplate } from "./chat-template-files.js";
import { readOptionalJsonObject } from "./json-files.js";
import { EMPTY_TOKENIZER_CONFIG, parseTokenizerConfig, type TokenizerConfig } from "./tokenizer-config.js";

export type ChatContentPart =
  | { type: "text"; text: string }
  | { type: "image"; [key: string]: unknown }
  | { type: string; [key: string]: unknown };

export interface ChatMessage {
  role: string;
  content: string | ChatContentPart[] | null;
  [key: string]: unknown;
}

export interface ChatRenderOptions {
  /** Append the header that starts the assistant's turn. Default false, as in transformers. */
  addGenerationPrompt?: boolean;
  /** Tool definitions (JSON schemas), passed as `tools`. */
  tools?: unknown[];
  /** Documents for retrieval-augmented templates, passed as `documents`. */
  documents?: unknown[];
  /** Further template variables (they win over the special tokens, as transformers' kwargs do). */
  variables?: Record<string, unknown>;
}

export interface JinjaChatTemplateOptions {
  /** Where the template came from, for error messages. */
  origin?: string;
  name?: string;
  /** Special tokens exposed as `bos_token`, `eos_token`, `pad_token`, `unk_token`, `additional_special_tokens`. */
  specialTokens?: Pick<TokenizerConfig, "bosToken" | "eosToken" | "padToken" | "unkToken" | "additionalSpecialTokens">;
}

export class JinjaChatTemplate {
  readonly source: string;
  readonly origin: string;
  readonly name: string;
  private readonly template: Template;
  private readonly specialTokenVariables: Record<string, unknown>;

  constructor(source: string, options: JinjaChatTemplateOptions = {}) {
    this.source = source;
    this.origin = options.origin ?? "<inline template>";
    this.name = options.name ?? "default";
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new IrisError("CHAT_TEMPLATE", `chat template from ${this.origin} does not parse: ${(err as Error).message}`, { cause: err });
    }
    this.specialTokenVariables = specialTokenVariables(options.specialTokens ?? EMPTY_TOKENIZER_CONFIG);
  }

  /**
   * The template a model directory ships, with the special tokens of its tokenizer_config.json.
   * Throws CHAT_TEMPLATE when the directory has none; `findInDir` returns undefined instead.
   */
  static fromDir(modelDir: string, options: { name?: string; withTools?: boolean } = {}): JinjaChatTemplate {
    const template = JinjaChatTemplate.findInDir(modelDir, options);
    if (template === undefined) {
      throw new IrisError(
        "CHAT_TEMPLATE",
        `${modelDir} has no chat template (looked for chat_template.jinja, chat_template.json, processor_config.json and tokenizer_config.json); build the prompt with a built-in template from chatTemplates instead`,
      );
    }
    return template;
  }

  static findInDir(modelDir: string, options: { name?: string; withTools?: boolean } = {}): JinjaChatTemplate | undefined {
    const set = findChatTemplates(modelDir);
    if (set === undefined) return undefined;
    const { name, source } = selectChatTemplate(set, options);
    const configPath = join(modelDir, "tokenizer_config.json");
    const configJson = readOptionalJsonObject(configPath, "TOKENIZER");
    const specialTokens = configJson === undefined ? EMPTY_TOKENIZER_CONFIG : parseTokenizerConfig(configJson, configPath);
    return new JinjaChatTemplate(source, { origin: set.origin, name, specialTokens });
  }

  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    const variables: Record<string, unknown> = {
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      ...this.specialTokenVariables,
    };
    if (options.tools !== undefined) variables.tools = options.tools;
    if (options.documents !== undefined) variables.documents = options.documents;
    Object.assign(variables, options.variables);
    try {
      return this.template.render(variables);
    } catch (err) {
      throw new IrisError("CHAT_TEMPLATE", `chat template from ${this.origin} failed to render: ${(err as Error).message}`, { cause: err });
    }
  }
}

// Only the tokens that exist are set, so `{% if bos_token %}` and `{{ bos_token }}` behave as with a None token.
function specialTokenVariables(tokens: NonNullable<JinjaChatTemplateOptions["specialTokens"]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (tokens.bosToken !== undefined) out.bos_token = tokens.bosToken;
  if (tokens.eosToken !== undefined) out.eos_token = tokens.eosToken;
  if (tokens.padToken !== undefined) out.pad_token = tokens.padToken;
  if (tokens.unkToken !== undefined) out.unk_token = tokens.unkToken;
  out.additional_special_tokens = [...tokens.additionalSpecialTokens];
  return out;
}
