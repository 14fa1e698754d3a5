import { test } from "node:test";
import assert from "node:assert/strict";
import { Conversation, SeparatorStyle } from "../../../src/tokenizer/conversation.js";
import { ChatTemplateRegistry, chatTemplates } from "../../../src/tokenizer/chat-templates.js";
import { JinjaChatTemplate } from "../../../src/tokenizer/jinja-chat-template.js";
import { isIrisError } from "../../../src/core/errors.js";
import { loadCases, modelDir } from "../../helpers/fixtures.js";

function tutorialPrompt(name: string): string {
  const conv = chatTemplates.get(name).copy();
  conv.appendMessage(conv.roles[0], `What's shown here: ${conv.imageToken}?`);
  conv.appendMessage(conv.roles[1], "");
  return conv.getPrompt();
}

// The expected strings below are those of the reference doc (sglang-engine-api.md section 5).
test("qwen2-vl renders SGLang's tutorial prompt exactly", () => {
  assert.equal(
    tutorialPrompt("qwen2-vl"),
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat's shown here: <|vision_start|><|image_pad|><|vision_end|>?<|im_end|>\n<|im_start|>assistant\n",
  );
  const conv = chatTemplates.get("qwen2-vl");
  assert.deepEqual(conv.stopStr, ["<|im_end|>"]);
  assert.equal(conv.videoToken, "<|vision_start|><|video_pad|><|vision_end|>");
});

test("llama-4 renders SGLang's tutorial prompt exactly, without BOS", () => {
  assert.equal(
    tutorialPrompt("llama-4"),
    "<|header_start|>user<|header_end|>\n\nWhat's shown here: <|image|>?<|eot|><|header_start|>assistant<|header_end|>\n\n",
  );
  assert.deepEqual(chatTemplates.get("llama-4").stopStr, ["<|end_of_text|>", "<|eot|>", "<|eom|>"]);
});

test("llama-4 strips messages and shows a system turn only when a system message is set", () => {
  const conv = chatTemplates.get("llama-4");
  conv.setSystemMessage("Be brief.");
  conv.appendMessage("user", "  \n hi there \t\n");
  conv.appendMessage("assistant", null);
  assert.equal(
    conv.getPrompt(),
    "<|header_start|>system<|header_end|>\n\nBe brief.<|eot|><|header_start|>user<|header_end|>\n\nhi there<|eot|><|header_start|>assistant<|header_end|>\n\n",
  );
});

test("qwen2-vl system message changes; an empty one still leaves the system header (SGLang formats the template)", () => {
  const conv = chatTemplates.get("qwen2-vl");
  conv.setSystemMessage("Answer in French.");
  conv.appendMessage(conv.roles[0], "Hi");
  conv.appendMessage(conv.roles[1], null);
  assert.equal(conv.getPrompt(), "<|im_start|>system\nAnswer in French.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  conv.setSystemMessage("");
  assert.equal(conv.getPrompt(), "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
});

test("chatml follows SGLang's CHATML style: newline after each separator", () => {
  const conv = chatTemplates.get("chatml");
  conv.appendMessage(conv.roles[0], "Hello");
  conv.appendMessage(conv.roles[1], "Hi!");
  conv.appendMessage(conv.roles[0], "Bye");
  conv.appendMessage(conv.roles[1], "");
  assert.equal(
    conv.getPrompt(),
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
  );
});

test("the default separator style is SGLang's ADD_COLON_SINGLE; empty and null turns stay open", () => {
  const conv = new Conversation({ name: "plain", systemMessage: "Sys" });
  assert.equal(conv.sepStyle, SeparatorStyle.ADD_COLON_SINGLE);
  conv.appendMessage("USER", "q");
  conv.appendMessage("ASSISTANT", null);
  assert.equal(conv.getPrompt(), "Sys\nUSER: q\nASSISTANT:");
  conv.updateLastMessage("a");
  assert.equal(conv.getPrompt(), "Sys\nUSER: q\nASSISTANT: a\n");
});

test("copy() and get() give independent conversations", () => {
  const original = chatTemplates.get("qwen2-vl");
  original.appendMessage(original.roles[0], "first");
  const copy = original.copy();
  copy.appendMessage(copy.roles[1], "answer");
  copy.setSystemMessage("changed");
  copy.messages[0][1] = "edited";
  assert.deepEqual(original.messages, [["<|im_start|>user", "first"]]);
  assert.equal(original.systemMessage, "You are a helpful assistant.");
  assert.deepEqual(chatTemplates.get("qwen2-vl").messages, [], "the registry's template is untouched");
});

test("the registry: unknown names list the known ones; duplicates need override", () => {
  assert.throws(
    () => chatTemplates.get("no-such-template"),
    (e: unknown) => isIrisError(e, "CHAT_TEMPLATE") && ["qwen2-vl", "llama-4", "chatml"].every((n) => e.message.includes(n)),
  );
  const registry = new ChatTemplateRegistry();
  registry.register(new Conversation({ name: "x", systemMessage: "one" }));
  assert.throws(() => registry.register(new Conversation({ name: "x" })), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE"));
  registry.register(new Conversation({ name: "x", systemMessage: "two" }), { override: true });
  assert.equal(registry.get("x").systemMessage, "two");
  assert.deepEqual(registry.names(), ["x"]);
  assert.ok(chatTemplates.has("chatml") && !chatTemplates.has("x"));
});

test("a system template with braces follows Python's str.format", () => {
  const conv = new Conversation({ name: "b", systemTemplate: "{{json}} {system_message}", systemMessage: "S", sepStyle: SeparatorStyle.CHATML, sep: "|" });
  assert.equal(conv.getPrompt(), "{json} S|\n");
  conv.systemTemplate = "{other}";
  assert.throws(() => conv.getPrompt(), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE"));
});

test("built-in templates agree with the models' own Jinja templates on the fixture conversations", () => {
  for (const [model, name, bos] of [["tiny-qwen2_5-vl", "qwen2-vl", ""], ["tiny-llama4", "llama-4", "<|begin_of_text|>"]] as const) {
    const jinja = JinjaChatTemplate.fromDir(modelDir(model));
    for (const c of loadCases(model)) {
      const conv = chatTemplates.get(name);
      for (const m of c.messages) {
        const content = typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "image" ? conv.imageToken : (p.text ?? ""))).join("");
        conv.appendMessage(m.role === "user" ? conv.roles[0] : conv.roles[1], content);
      }
      conv.appendMessage(conv.roles[1], null);
      assert.equal(bos + conv.getPrompt(), c.prompt, `${model}/${c.name}`);
      assert.equal(jinja.render(c.messages, { addGenerationPrompt: true }), c.prompt);
    }
  }
});
