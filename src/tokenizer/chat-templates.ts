/**
 * SGLang's `chat_templates` registry with its built-in templates for the models Iris serves.
 * Definitions as in SGLang's python/sglang/srt/parser/conversation.py.
 */
import { IrisError } from "../core/errors.js";
import { Conversation, SeparatorStyle } from "./conversation.js";

export class ChatTemplateRegistry {
  private readonly templates = new Map<string, Conversation>();

  /** Adds a template under its name; an existing name needs `override`, as in SGLang's register_conv_template. */
  register(template: Conversation, { override = false }: { override?: boolean } = {}): void {
    if (!override && this.templates.has(template.name)) {
      throw new IrisError("CHAT_TEMPLATE", `chat template "${template.name}" is already registered; pass { override: true } to replace it`);
    }
    this.templates.set(template.name, template.copy());
  }

  /** A fresh copy of the named template: changing it never changes the registry. */
  get(name: string): Conversation {
    const template = this.templates.get(name);
    if (template === undefined) {
      throw new IrisError("CHAT_TEMPLATE", `unknown chat template "${name}"; known templates: ${this.names().join(", ")}`);
    }
    return template.copy();
  }

  has(name: string): boolean {
    return this.templates.has(name);
  }

  names(): string[] {
    return [...this.templates.keys()];
  }
}

export const chatTemplates = new ChatTemplateRegistry();

chatTemplates.register(
  new Conversation({
    name: "qwen2-vl",
    systemMessage: "You are a helpful assistant.",
    systemTemplate: "<|im_start|>system\n{system_message}",
    roles: ["<|im_start|>user", "<|im_start|>assistant"],
    sep: "<|im_end|>\n",
    sepStyle: SeparatorStyle.ADD_NEW_LINE_SINGLE,
    stopStr: ["<|im_end|>"],
    imageToken: "<|vision_start|><|image_pad|><|vision_end|>",
    videoToken: "<|vision_start|><|video_pad|><|vision_end|>",
  }),
);

chatTemplates.register(
  new Conversation({
    name: "llama-4",
    systemTemplate: "<|header_start|>system<|header_end|>\n\n{system_message}<|eot|>",
    roles: ["user", "assistant"],
    sepStyle: SeparatorStyle.LLAMA4,
    sep: "",
    stopStr: ["<|end_of_text|>", "<|eot|>", "<|eom|>"],
    imageToken: "<|image|>",
  }),
);

chatTemplates.register(
  new Conversation({
    name: "chatml",
    systemTemplate: "<|im_start|>system\n{system_message}",
    systemMessage: "You are a helpful assistant.",
    roles: ["<|im_start|>user", "<|im_start|>assistant"],
    sepStyle: SeparatorStyle.CHATML,
    sep: "<|im_end|>",
    stopStr: ["<|endoftext|>", "<|im_end|>"],
  }),
);
