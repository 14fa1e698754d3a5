import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JinjaChatTemplate } from "../../../src/tokenizer/jinja-chat-template.js";
import { isIrisError } from "../../../src/core/errors.js";
import { LAYOUTS, loadCases, modelDir } from "../../helpers/fixtures.js";

test("every fixture prompt is reproduced from its messages, in both layouts of each model", () => {
  for (const model of ["tiny-qwen2_5-vl", "tiny-llama4"] as const) {
    const cases = loadCases(model);
    assert.ok(cases.length >= 3);
    for (const dir of LAYOUTS[model]) {
      const template = JinjaChatTemplate.fromDir(modelDir(dir));
      for (const c of cases) {
        assert.equal(template.render(c.messages, { addGenerationPrompt: true }), c.prompt, `${dir}/${c.name}`);
      }
    }
  }
});

test("the processor's template file is the one used: chat_template.json (Hub) or chat_template.jinja (v5)", () => {
  assert.equal(JinjaChatTemplate.fromDir(modelDir("tiny-qwen2_5-vl")).origin, join(modelDir("tiny-qwen2_5-vl"), "chat_template.json"));
  assert.equal(JinjaChatTemplate.fromDir(modelDir("tiny-llama4-v5")).origin, join(modelDir("tiny-llama4-v5"), "chat_template.jinja"));
});

test("addGenerationPrompt false leaves the assistant header out; bos_token comes from tokenizer_config.json", () => {
  const template = JinjaChatTemplate.fromDir(modelDir("tiny-llama4-v5"));
  const messages = [{ role: "user", content: "Hi" }];
  assert.equal(template.render(messages), "<|begin_of_text|><|header_start|>user<|header_end|>\n\nHi<|eot|>");
  // The Qwen v5 config has no bos_token: the variable is undefined and renders empty.
  const inline = new JinjaChatTemplate("[{{ bos_token }}|{{ eos_token }}|{{ extra }}]", {
    specialTokens: { eosToken: "<|im_end|>", additionalSpecialTokens: [] },
  });
  assert.equal(inline.render([], { variables: { extra: 42 } }), "[|<|im_end|>|42]");
});

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "iris-chat-"));
  for (const [name, text] of Object.entries(files)) {
    if (name.includes("/")) mkdirSync(join(dir, name.split("/")[0]), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const render = (dir: string, options: { name?: string; withTools?: boolean } = {}) =>
  JinjaChatTemplate.fromDir(dir, options).render([{ role: "user", content: "x" }]);

test("templates are looked up in transformers' order: processor files, processor_config.json, then tokenizer_config.json", () => {
  const dirs: string[] = [];
  const make = (files: Record<string, string>) => {
    const dir = tempDir(files);
    dirs.push(dir);
    return dir;
  };
  const tokenizerConfig = JSON.stringify({ chat_template: "tok", bos_token: "<s>" });
  assert.equal(render(make({ "tokenizer_config.json": tokenizerConfig })), "tok");
  assert.equal(render(make({ "tokenizer_config.json": tokenizerConfig, "processor_config.json": JSON.stringify({ chat_template: "proc" }) })), "proc");
  assert.equal(render(make({ "tokenizer_config.json": tokenizerConfig, "chat_template.jinja": "jinja {{ bos_token }}" })), "jinja <s>");
  // The legacy JSON file wins over the .jinja file, as in transformers' processor loading.
  assert.equal(render(make({ "chat_template.jinja": "jinja", "chat_template.json": JSON.stringify({ chat_template: "json" }) })), "json");
  for (const dir of dirs) rmSync(dir, { recursive: true });
});

test("named templates: default, by name, tool_use with tools, and an error listing the names", () => {
  const list = JSON.stringify({
    chat_template: [
      { name: "default", template: "d" },
      { name: "tool_use", template: "t" },
      { name: "rag", template: "r" },
    ],
  });
  const dir = tempDir({ "tokenizer_config.json": list });
  assert.equal(render(dir), "d");
  assert.equal(render(dir, { name: "rag" }), "r");
  assert.equal(render(dir, { withTools: true }), "t");
  assert.throws(() => render(dir, { name: "nope" }), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE") && e.message.includes("rag"));
  const noDefault = tempDir({ "tokenizer_config.json": JSON.stringify({ chat_template: [{ name: "a", template: "A" }, { name: "b", template: "B" }] }) });
  assert.throws(() => render(noDefault), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE") && e.message.includes("a, b"));
  const additional = tempDir({ "chat_template.jinja": "main", "additional_chat_templates/tool_use.jinja": "tools" });
  assert.equal(render(additional), "main");
  assert.equal(render(additional, { withTools: true }), "tools");
  for (const d of [dir, noDefault, additional]) rmSync(d, { recursive: true });
});

test("a directory without a template, a malformed file, a parse error and raise_exception give CHAT_TEMPLATE errors", () => {
  const empty = tempDir({ "tokenizer_config.json": "{}" });
  assert.equal(JinjaChatTemplate.findInDir(empty), undefined);
  assert.throws(() => JinjaChatTemplate.fromDir(empty), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE") && e.message.includes(empty));
  const malformed = tempDir({ "chat_template.json": "{ nope" });
  assert.throws(() => JinjaChatTemplate.fromDir(malformed), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE") && e.message.includes("chat_template.json"));
  assert.throws(() => new JinjaChatTemplate("{% if %}", { origin: "inline.jinja" }), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE") && e.message.includes("inline.jinja"));
  const raising = new JinjaChatTemplate("{{ raise_exception('Conversation roles must alternate') }}");
  assert.throws(() => raising.render([]), (e: unknown) => isIrisError(e, "CHAT_TEMPLATE") && e.message.includes("must alternate"));
  for (const d of [empty, malformed]) rmSync(d, { recursive: true });
});
