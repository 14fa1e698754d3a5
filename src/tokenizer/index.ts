/** The tokenizer layer: tokenizer.json, chat templates (SGLang's registry and the model's Jinja), streaming detokenization. */
export { Tokenizer, type EncodeOptions, type DecodeOptions } from "./tokenizer.js";
export { parseTokenizerConfig, type TokenizerConfig } from "./tokenizer-config.js";
export { IncrementalDetokenizer, type DetokenizeOptions } from "./incremental-detokenizer.js";
export { Conversation, SeparatorStyle, type ConversationInit, type ConversationMessage } from "./conversation.js";
export { ChatTemplateRegistry, chatTemplates } from "./chat-templates.js";
export {
  JinjaChatTemplate,
  type ChatMessage,
  type ChatContentPart,
  type ChatRenderOptions,
  type JinjaChatTemplateOptions,
} from "./jinja-chat-template.js";
export { findChatTemplates, selectChatTemplate, type ChatTemplateSet } from "./chat-template-files.js";
export { cleanUpTokenizationSpaces } from "./cleanup-spaces.js";
