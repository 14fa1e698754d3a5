/**
 * SGLang's `Conversation` (python/sglang/srt/parser/conversation.py, from FastChat): a named prompt format that
 * turns a system message and (role, message) turns into one prompt string. Only the separator styles of the
 * registered templates are implemented; field names and rendering follow SGLang so prompts are identical.
 */
import { IrisError } from "../core/errors.js";

export const SeparatorStyle = {
  /** SGLang's default: `role: message<sep>`. */
  ADD_COLON_SINGLE: "ADD_COLON_SINGLE",
  /** `role\nmessage<sep>` (qwen2-vl). */
  ADD_NEW_LINE_SINGLE: "ADD_NEW_LINE_SINGLE",
  /** `<|header_start|>role<|header_end|>\n\nmessage<|eot|>` (llama-4). */
  LLAMA4: "LLAMA4",
  /** `role\nmessage<sep>\n` (chatml). */
  CHATML: "CHATML",
} as const;
export type SeparatorStyle = (typeof SeparatorStyle)[keyof typeof SeparatorStyle];

/** One turn: [role, message]; an empty or null message leaves the turn open for the model to continue. */
export type ConversationMessage = [role: string, message: string | null];

export interface ConversationInit {
  name: string;
  systemTemplate?: string;
  systemMessage?: string;
  roles?: readonly [string, string];
  messages?: readonly (readonly [string, string | null])[];
  offset?: number;
  sepStyle?: SeparatorStyle;
  sep?: string;
  sep2?: string | null;
  stopStr?: string | readonly string[] | null;
  imageToken?: string;
  videoToken?: string;
  audioToken?: string;
}

export class Conversation {
  name: string;
  /** Python format string with `{system_message}`. */
  systemTemplate: string;
  systemMessage: string;
  roles: readonly [string, string];
  messages: ConversationMessage[];
  /** Few-shot turns at the start of `messages` (kept for parity with SGLang; rendering ignores it). */
  offset: number;
  sepStyle: SeparatorStyle;
  sep: string;
  sep2: string | null;
  stopStr: string | readonly string[] | null;
  imageToken: string;
  videoToken: string;
  audioToken: string;

  constructor(init: ConversationInit) {
    this.name = init.name;
    this.systemTemplate = init.systemTemplate ?? "{system_message}";
    this.systemMessage = init.systemMessage ?? "";
    this.roles = init.roles ?? ["USER", "ASSISTANT"];
    this.messages = (init.messages ?? []).map(([role, message]) => [role, message]);
    this.offset = init.offset ?? 0;
    this.sepStyle = init.sepStyle ?? SeparatorStyle.ADD_COLON_SINGLE;
    this.sep = init.sep ?? "\n";
    this.sep2 = init.sep2 ?? null;
    this.stopStr = init.stopStr ?? null;
    this.imageToken = init.imageToken ?? "<image>";
    this.videoToken = init.videoToken ?? "<video>";
    this.audioToken = init.audioToken ?? "<audio>";
  }

  /** The prompt for generation: end with an empty assistant turn to have the model answer. */
  getPrompt(): string {
    const systemPrompt = formatSystemTemplate(this.systemTemplate, this.systemMessage, this.name);
    let ret: string;
    switch (this.sepStyle) {
      case SeparatorStyle.ADD_COLON_SINGLE:
        ret = systemPrompt + this.sep;
        for (const [role, message] of this.messages) ret += message ? `${role}: ${message}${this.sep}` : `${role}:`;
        return ret;
      case SeparatorStyle.ADD_NEW_LINE_SINGLE:
        ret = systemPrompt === "" ? "" : systemPrompt + this.sep;
        for (const [role, message] of this.messages) ret += message ? `${role}\n${message}${this.sep}` : `${role}\n`;
        return ret;
      case SeparatorStyle.LLAMA4:
        // No <|begin_of_text|>: the Llama 4 tokenizer's post-processor adds it.
        ret = this.systemMessage ? systemPrompt : "";
        for (const [role, message] of this.messages) {
          ret += `<|header_start|>${role}<|header_end|>\n\n`;
          if (message) ret += `${pythonStrip(message)}<|eot|>`;
        }
        return ret;
      case SeparatorStyle.CHATML:
        ret = systemPrompt === "" ? "" : `${systemPrompt}${this.sep}\n`;
        for (const [role, message] of this.messages) ret += message ? `${role}\n${message}${this.sep}\n` : `${role}\n`;
        return ret;
      default:
        throw new IrisError("CHAT_TEMPLATE", `conversation "${this.name}" has unknown separator style ${String(this.sepStyle)}`);
    }
  }

  setSystemMessage(systemMessage: string): void {
    this.systemMessage = systemMessage;
  }

  appendMessage(role: string, message: string | null): void {
    this.messages.push([role, message]);
  }

  /** Replaces the last turn's message, e.g. with the model's answer to an open assistant turn. */
  updateLastMessage(message: string | null): void {
    if (this.messages.length === 0) throw new IrisError("INVALID_ARGUMENT", "updateLastMessage() on a conversation with no messages");
    this.messages[this.messages.length - 1][1] = message;
  }

  /** An independent copy: its messages can change without touching this one. */
  copy(): Conversation {
    return new Conversation(this);
  }
}

// Python's str.format with the one field SGLang passes; {{ and }} are literal braces.
function formatSystemTemplate(template: string, systemMessage: string, name: string): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, field: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    if (field === "system_message") return systemMessage;
    throw new IrisError("CHAT_TEMPLATE", `conversation "${name}": system template field "{${field}}" is unknown; only {system_message} is filled`);
  });
}

// Python's str.strip() removes what Python calls whitespace: JS's \s without U+FEFF, plus \x1c-\x1f and \x85.
const PYTHON_WHITESPACE = new Set(
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
);

function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PYTHON_WHITESPACE.has(text[start])) start++;
  while (end > start && PYTHON_WHITESPACE.has(text[end - 1])) end--;
  return text.slice(start, end);
}
