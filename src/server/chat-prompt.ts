/**
 * OpenAI chat messages to a prompt and its images. The model's own Jinja chat template renders them (as
 * transformers' `apply_chat_template` would), unless `--chat-template` names one of SGLang's built-in conversation
 * templates; either way each `image_url` part becomes the template's image placeholder, in order, and its URL
 * one of the request's images. Only http(s) and data URLs are accepted from a client: a bare path or base64 string
 * is refused here, before the engine's own fences (local files, hosts, private addresses) are reached.
 */
import { IrisError } from "../core/errors.js";
import { chatTemplates } from "../tokenizer/chat-templates.js";
import { JinjaChatTemplate, type ChatContentPart, type ChatMessage } from "../tokenizer/jinja-chat-template.js";
import { badRequest } from "./http-errors.js";

const ROLES = new Set(["system", "developer", "user", "assistant"]);

/** One message, checked: its role, and its content as text and image parts in order. */
interface ParsedMessage {
  readonly role: string;
  readonly parts: readonly ({ kind: "text"; text: string } | { kind: "image"; url: string })[];
}

export interface ChatPrompt {
  readonly prompt: string;
  readonly images: string[];
}

export class ChatPromptBuilder {
  private constructor(private readonly render: (messages: readonly ParsedMessage[]) => string, readonly templateName: string) {}

  /** The named built-in template, or else the model directory's own; fails at startup when there is neither. */
  static create(modelPath: string, chatTemplate: string | undefined): ChatPromptBuilder {
    if (chatTemplate !== undefined) {
      chatTemplates.get(chatTemplate);
      return new ChatPromptBuilder((messages) => renderConversation(chatTemplate, messages), chatTemplate);
    }
    const jinja = JinjaChatTemplate.findInDir(modelPath);
    if (jinja === undefined) {
      throw new IrisError("CHAT_TEMPLATE", `${modelPath} has no chat template of its own: name a built-in one with --chat-template (${chatTemplates.names().join(", ")})`);
    }
    return new ChatPromptBuilder((messages) => jinja.render(messages.map(toJinjaMessage), { addGenerationPrompt: true }), `${jinja.origin} (model's own)`);
  }

  build(messages: unknown): ChatPrompt {
    const parsed = parseMessages(messages);
    const images = parsed.flatMap((m) => m.parts.flatMap((p) => (p.kind === "image" ? [p.url] : [])));
    return { prompt: this.render(parsed), images };
  }
}

function parseMessages(messages: unknown): ParsedMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw badRequest("messages must be a non-empty list of chat messages", "messages");
  return messages.map((message, i) => {
    const where = `messages[${i}]`;
    if (typeof message !== "object" || message === null) throw badRequest(`${where} must be an object with role and content`, where);
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || !ROLES.has(role)) {
      throw badRequest(`${where}.role must be one of ${[...ROLES].join(", ")}, got ${JSON.stringify(role)} (tools are not supported)`, `${where}.role`);
    }
    if (content === null || content === undefined) return { role, parts: [] };
    if (typeof content === "string") return { role, parts: [{ kind: "text", text: content }] };
    if (!Array.isArray(content)) throw badRequest(`${where}.content must be a string or a list of parts`, `${where}.content`);
    const parts = content.map((part, k) => parsePart(part, `${where}.content[${k}]`));
    if (role !== "user" && parts.some((p) => p.kind === "image")) throw badRequest(`${where}: only user messages may hold images`, `${where}.content`);
    return { role, parts };
  });
}

function parsePart(part: unknown, where: string): ParsedMessage["parts"][number] {
  const p = part as { type?: unknown; text?: unknown; image_url?: unknown };
  if (p?.type === "text") {
    if (typeof p.text !== "string") throw badRequest(`${where}.text must be a string`, `${where}.text`);
    return { kind: "text", text: p.text };
  }
  if (p?.type === "image_url") {
    const url = typeof p.image_url === "string" ? p.image_url : (p.image_url as { url?: unknown } | undefined)?.url;
    if (typeof url !== "string") throw badRequest(`${where}.image_url.url must be a string`, `${where}.image_url`);
    if (!/^(https?:\/\/|data:)/i.test(url)) {
      throw new IrisError("IMAGE_LOAD", `${where}.image_url.url must be an http(s) URL or a data URL, got ${JSON.stringify(url.slice(0, 40))}`);
    }
    return { kind: "image", url };
  }
  throw badRequest(`${where}.type must be "text" or "image_url", got ${JSON.stringify(p?.type)}`, `${where}.type`);
}

/** Image parts as transformers' processors hand them to templates (`{type: "image"}`), text parts as they are. */
function toJinjaMessage(message: ParsedMessage): ChatMessage {
  const onlyText = message.parts.every((p) => p.kind === "text");
  const content: string | ChatContentPart[] = onlyText && message.parts.length <= 1
    ? (message.parts[0] as { text: string } | undefined)?.text ?? ""
    : message.parts.map((p) => (p.kind === "text" ? { type: "text", text: p.text } : { type: "image" }));
  return { role: message.role === "developer" ? "system" : message.role, content };
}

/** SGLang's way with a built-in template: the system text, then turns with the image token in each image's place. */
function renderConversation(name: string, messages: readonly ParsedMessage[]): string {
  const conversation = chatTemplates.get(name).copy();
  const textOf = (m: ParsedMessage) => m.parts.map((p) => (p.kind === "text" ? p.text : conversation.imageToken)).join("");
  for (const message of messages) {
    if (message.role === "system" || message.role === "developer") conversation.setSystemMessage(textOf(message));
    else conversation.appendMessage(conversation.roles[message.role === "user" ? 0 : 1], textOf(message));
  }
  conversation.appendMessage(conversation.roles[1], null);
  return conversation.getPrompt();
}
