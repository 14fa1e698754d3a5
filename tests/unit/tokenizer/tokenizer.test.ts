import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "../../../src/tokenizer/tokenizer.js";
import { isIrisError } from "../../../src/core/errors.js";
import { modelDir } from "../../helpers/fixtures.js";
import { rustDecode, rustEncode, rustTokenizer } from "./rust-reference.js";

const qwen = Tokenizer.fromDir(modelDir("tiny-qwen2_5-vl"));
const llama = Tokenizer.fromDir(modelDir("tiny-llama4"));

test("Qwen special tokens come from tokenizer_config.json (model-facts A4)", () => {
  assert.equal(qwen.bosToken, undefined);
  assert.equal(qwen.bosTokenId, undefined);
  assert.equal(qwen.eosTokenId, 151645);
  assert.equal(qwen.padTokenId, 151643);
  assert.equal(qwen.tokenToId("<|image_pad|>"), 151655);
  assert.equal(qwen.idToToken(151652), "<|vision_start|>");
  assert.ok(qwen.isSpecial(151645) && qwen.isSpecial(151655));
  // <think> is an added token that tokenizer.json does not mark special.
  assert.equal(qwen.isSpecial(qwen.tokenToId("<think>") as number), false);
  assert.equal(qwen.isSpecial(qwen.encode("hello")[0]), false);
});

test("Llama 4 special tokens (fixtures README: image tokens at 128262/128263)", () => {
  assert.equal(llama.bosToken, "<|begin_of_text|>");
  assert.equal(llama.bosTokenId, rustTokenizer("tiny-llama4").tokenToId("<|begin_of_text|>"));
  assert.equal(llama.eosTokenId, rustTokenizer("tiny-llama4").tokenToId("<|eot|>"));
  assert.equal(llama.padTokenId, rustTokenizer("tiny-llama4").tokenToId("<|finetune_right_pad|>"));
  assert.equal(llama.tokenToId("<|patch|>"), 128262);
  assert.equal(llama.tokenToId("<|image|>"), 128263);
  assert.ok(llama.isSpecial(128262));
});

test("both layouts of each model load the same tokenizer settings", () => {
  for (const [hub, v5] of [["tiny-qwen2_5-vl", "tiny-qwen2_5-vl-v5"], ["tiny-llama4", "tiny-llama4-v5"]]) {
    const a = Tokenizer.fromDir(modelDir(hub));
    const b = Tokenizer.fromDir(modelDir(v5));
    assert.deepEqual([b.bosTokenId, b.eosTokenId, b.padTokenId, b.vocabSize], [a.bosTokenId, a.eosTokenId, a.padTokenId, a.vocabSize]);
    assert.deepEqual([...b.specialTokenIds].sort(), [...a.specialTokenIds].sort());
  }
});

test("vocabSize counts added tokens, as the Rust library does", () => {
  assert.equal(qwen.vocabSize, rustTokenizer("tiny-qwen2_5-vl").getVocabSize(true));
  assert.equal(llama.vocabSize, rustTokenizer("tiny-llama4").getVocabSize(true));
});

test("the post-processor runs only with addSpecialTokens: Llama 4 prepends <|begin_of_text|>, Qwen adds nothing", async () => {
  const text = "Tell me a story.";
  assert.deepEqual(llama.encode(text), [llama.bosTokenId, ...llama.encode(text, { addSpecialTokens: false })]);
  assert.deepEqual(llama.encode(text), await rustEncode("tiny-llama4", text, true));
  assert.deepEqual(qwen.encode(text), qwen.encode(text, { addSpecialTokens: false }));
  assert.deepEqual(qwen.encode(text), await rustEncode("tiny-qwen2_5-vl", text, true));
});

test("decode: empty input, ids past the vocabulary, special tokens skipped or kept", async () => {
  assert.equal(qwen.decode([]), "");
  const ids = [...qwen.encode("<|im_start|>user\nhi<think>x</think><|im_end|>"), 151900, 151700];
  for (const skip of [false, true]) {
    assert.equal(qwen.decode(ids, { skipSpecialTokens: skip }), await rustDecode("tiny-qwen2_5-vl", ids, skip));
  }
  assert.equal(qwen.decode(ids, { skipSpecialTokens: true }), "user\nhi<think>x</think>");
  assert.throws(() => qwen.decode([1.5]), (e) => isIrisError(e, "INVALID_ARGUMENT"));
});

test("clean_up_tokenization_spaces follows the config, and can be overridden per call", () => {
  const ids = qwen.encode("Hello , world . I do n't know !");
  assert.equal(qwen.cleanUpSpaces, false);
  assert.equal(qwen.decode(ids), "Hello , world . I do n't know !");
  assert.equal(qwen.decode(ids, { cleanUpTokenizationSpaces: true }), "Hello, world. I don't know!");
});

function tempModelDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "iris-tok-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function assertTokenizerError(fn: () => unknown, mentions: string): void {
  assert.throws(fn, (e: unknown) => isIrisError(e, "TOKENIZER") && e.message.includes(mentions));
}

test("missing or malformed files give TOKENIZER errors that name the file", () => {
  const missing = tempModelDir({});
  assertTokenizerError(() => Tokenizer.fromDir(missing), join(missing, "tokenizer.json"));
  const badJson = tempModelDir({ "tokenizer.json": "{ not json" });
  assertTokenizerError(() => Tokenizer.fromDir(badJson), join(badJson, "tokenizer.json"));
  const noModel = tempModelDir({ "tokenizer.json": "{}" });
  assertTokenizerError(() => Tokenizer.fromDir(noModel), "model");
  const badConfig = tempModelDir({ "tokenizer_config.json": "[1, 2" });
  copyFileSync(join(modelDir("tiny-qwen2_5-vl"), "tokenizer.json"), join(badConfig, "tokenizer.json"));
  assertTokenizerError(() => Tokenizer.fromDir(badConfig), join(badConfig, "tokenizer_config.json"));
  writeFileSync(join(badConfig, "tokenizer_config.json"), JSON.stringify({ eos_token: "<|no_such_token|>" }));
  assertTokenizerError(() => Tokenizer.fromDir(badConfig), "<|no_such_token|>");
  for (const dir of [missing, badJson, noModel, badConfig]) rmSync(dir, { recursive: true });
});

test("tokenizer_config.json is optional, and old-style token objects are read", () => {
  const dir = tempModelDir({});
  copyFileSync(join(modelDir("tiny-llama4"), "tokenizer.json"), join(dir, "tokenizer.json"));
  const bare = Tokenizer.fromDir(dir);
  assert.equal(bare.bosTokenId, undefined);
  assert.deepEqual(bare.encode("hi"), llama.encode("hi"));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ bos_token: { __type: "AddedToken", content: "<|begin_of_text|>" } }));
  assert.equal(Tokenizer.fromDir(dir).bosTokenId, llama.bosTokenId);
  rmSync(dir, { recursive: true });
});
