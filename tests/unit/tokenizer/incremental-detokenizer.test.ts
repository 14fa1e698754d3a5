import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "../../../src/tokenizer/tokenizer.js";
import { IncrementalDetokenizer } from "../../../src/tokenizer/incremental-detokenizer.js";
import { parseTokenizerConfig } from "../../../src/tokenizer/tokenizer-config.js";
import { loadCases, modelDir } from "../../helpers/fixtures.js";
import { TOKENIZER_DIRS, seededRandom, variedStrings } from "./rust-reference.js";

const tokenizers = Object.fromEntries(TOKENIZER_DIRS.map((d) => [d, Tokenizer.fromDir(modelDir(d))])) as Record<string, Tokenizer>;

/** Streams `ids` one at a time; returns the deltas (flush last) and the largest window decoded. */
function stream(tok: Tokenizer, ids: number[], skipSpecialTokens = false): { deltas: string[]; maxWindow: number } {
  let maxWindow = 0;
  const spy = Object.create(tok) as Tokenizer;
  spy.decode = (window, options) => {
    maxWindow = Math.max(maxWindow, window.length);
    return tok.decode(window, options);
  };
  const detok = new IncrementalDetokenizer(spy, { skipSpecialTokens });
  const deltas = ids.map((id) => detok.push(id));
  deltas.push(detok.flush());
  assert.equal(detok.flush(), "", "a second flush prints nothing");
  return { deltas, maxWindow };
}

const SPLIT_TEXTS = ["👨‍👩‍👧‍👦 family 🦩🪼🫠", "𠮷野家で食べた。龘靐齉", "混合 text 🇯🇵 and 한국어 🪼", "Ελληνικά 🫠 русский 𝟘"];

for (const [dir, tok] of Object.entries(tokenizers)) {
  test(`${dir}: emoji and CJK split across byte-level tokens never print broken`, () => {
    for (const text of SPLIT_TEXTS) {
      const ids = tok.encode(text, { addSpecialTokens: false });
      assert.ok(ids.some((id) => tok.decode([id]).includes("\uFFFD")), `precondition: a character of ${text} spans tokens`);
      const { deltas } = stream(tok, ids);
      for (const d of deltas) assert.ok(!d.includes("\uFFFD"), `delta ${JSON.stringify(d)} of ${text}`);
      assert.equal(deltas.join(""), text);
      assert.ok(deltas.filter((d) => d === "").length > 0, "something was held back");
    }
  });

  test(`${dir}: deltas plus flush equal decode(allIds), with and without special tokens`, () => {
    const specials = [...tok.specialTokenIds].slice(0, 8);
    const rnd = seededRandom(11);
    for (const text of variedStrings(60, 99)) {
      const ids = tok.encode(text, { addSpecialTokens: false });
      for (let i = 0; i < 3; i++) ids.splice(Math.floor(rnd() * (ids.length + 1)), 0, specials[Math.floor(rnd() * specials.length)]);
      for (const skip of [false, true]) {
        assert.equal(stream(tok, ids, skip).deltas.join(""), tok.decode(ids, { skipSpecialTokens: skip }), JSON.stringify(text));
      }
    }
  });

  test(`${dir}: random ids (invalid UTF-8 runs) stream exactly, in a bounded window`, () => {
    const rnd = seededRandom(5);
    // Tokens that are a lone byte of a multi-byte character keep the text ending in U+FFFD.
    const brokenBytes: number[] = [];
    for (let id = 0; id < 5000; id++) if (tok.decode([id]) === "\uFFFD") brokenBytes.push(id);
    assert.ok(brokenBytes.length > 50, "precondition: the vocabulary has single-byte tokens");
    for (let n = 0; n < 100; n++) {
      const ids = Array.from({ length: 40 }, () =>
        rnd() < 0.6 ? brokenBytes[Math.floor(rnd() * brokenBytes.length)] : Math.floor(rnd() * tok.vocabSize),
      );
      for (const skip of [false, true]) assert.equal(stream(tok, ids, skip).deltas.join(""), tok.decode(ids, { skipSpecialTokens: skip }));
    }
    const long = Array.from({ length: 3000 }, () => brokenBytes[Math.floor(rnd() * brokenBytes.length)]);
    const { deltas, maxWindow } = stream(tok, long);
    assert.equal(deltas.join(""), tok.decode(long));
    assert.ok(maxWindow <= 16, `window stays small on garbage (was ${maxWindow})`);
  });

  test(`${dir}: a long ordinary text decodes a window of a few tokens per step`, () => {
    const text = "The quick brown fox 🦊 jumps over the lazy dog; 狐狸跳过了懒狗。 ".repeat(200);
    const ids = tok.encode(text, { addSpecialTokens: false });
    const { deltas, maxWindow } = stream(tok, ids);
    assert.equal(deltas.join(""), text);
    assert.ok(maxWindow <= 8, `window ${maxWindow}`);
  });
}

test("the fixtures' greedy tokens stream to the reference greedy text, U+FFFD included", () => {
  for (const model of ["tiny-qwen2_5-vl", "tiny-llama4"] as const) {
    for (const c of loadCases(model)) {
      assert.equal(stream(tokenizers[model], c.greedy_tokens, true).deltas.join(""), c.greedy_text, `${model}/${c.name}`);
    }
  }
});

test("with clean_up_tokenization_spaces on, the stream still equals decode(allIds)", () => {
  const dir = modelDir("tiny-llama4");
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as unknown;
  const config = parseTokenizerConfig({ ...JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")), clean_up_tokenization_spaces: true }, "test");
  const tok = Tokenizer.fromJSON(json, config);
  const texts = [
    "I do n't know , he 's here . Are you ? Yes ! We 're sure ' ok ' .",
    "a ' b n't c 'm d 've e 're f ' s g  .  , ? !",
    ...variedStrings(40, 3).map((s) => s.replace(/x/g, " n't").replace(/e/g, " 've ,")),
  ];
  for (const text of texts) {
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.equal(stream(tok, ids).deltas.join(""), tok.decode(ids), JSON.stringify(text));
  }
  assert.notEqual(tok.decode(tok.encode(texts[0])), tok.decode(tok.encode(texts[0]), { cleanUpTokenizationSpaces: false }));
});
