// The fixture prompts, tokenized as the reference processor did, give exactly the fixture input_ids.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tokenizer } from "../../../src/tokenizer/tokenizer.js";
import { toNumbers } from "../../../src/core/host-tensor.js";
import { LAYOUTS, loadCases, loadCaseTensors, modelDir } from "../../helpers/fixtures.js";

test("Qwen2.5-VL: each <|image_pad|> expanded to prod(grid_thw)/4 copies encodes to the fixture input_ids", () => {
  const cases = loadCases("tiny-qwen2_5-vl");
  assert.equal(cases.length, 3);
  for (const dir of LAYOUTS["tiny-qwen2_5-vl"]) {
    const tok = Tokenizer.fromDir(modelDir(dir));
    for (const c of cases) {
      const tensors = loadCaseTensors("tiny-qwen2_5-vl", c.name);
      const expected = toNumbers(tensors.input_ids);
      const grids = tensors.image_grid_thw === undefined ? [] : toNumbers(tensors.image_grid_thw);
      const parts = c.prompt.split("<|image_pad|>");
      assert.equal(parts.length - 1, c.images.length, c.name);
      let expanded = parts[0];
      for (let i = 1; i < parts.length; i++) {
        const [t, h, w] = grids.slice(3 * (i - 1), 3 * i);
        expanded += "<|image_pad|>".repeat((t * h * w) / 4) + parts[i];
      }
      const ids = tok.encode(expanded);
      assert.deepEqual(ids, expected, `${dir}/${c.name}`);
      assert.equal(ids.length, c.n_prompt_tokens);
      assert.equal(tok.decode(ids), expanded);
    }
  }
});

test("Llama 4: prompts encode with the post-processor's BOS before the template's, as the reference did", () => {
  const cases = loadCases("tiny-llama4");
  for (const dir of LAYOUTS["tiny-llama4"]) {
    const tok = Tokenizer.fromDir(modelDir(dir));
    const bos = tok.bosTokenId as number;
    for (const c of cases) {
      const expected = toNumbers(loadCaseTensors("tiny-llama4", c.name).input_ids);
      assert.equal(expected.length, c.n_prompt_tokens);
      assert.deepEqual(expected.slice(0, 3).map((id) => id === bos), [true, true, false], `${c.name} starts with two BOS`);
      if (c.images.length === 0) {
        assert.deepEqual(tok.encode(c.prompt), expected, `${dir}/${c.name}`);
        continue;
      }
      // The ids hold the processor's expansion of <|image|>: decoding them gives the expanded text, which must
      // encode back to the same ids (without a third BOS).
      const expandedText = tok.decode(expected);
      assert.deepEqual(tok.encode(expandedText, { addSpecialTokens: false }), expected, `${dir}/${c.name} expanded`);
      // The text around the one image placeholder encodes to the ids around the expansion.
      const [before, after] = c.prompt.split("<|image|>");
      const head = tok.encode(before);
      const tail = tok.encode(after, { addSpecialTokens: false });
      assert.deepEqual(expected.slice(0, head.length), head, `${dir}/${c.name} head`);
      assert.deepEqual(expected.slice(expected.length - tail.length), tail, `${dir}/${c.name} tail`);
      const middle = expected.slice(head.length, expected.length - tail.length);
      const imageTokens = new Set(["<|image_start|>", "<|image_end|>", "<|image|>", "<|patch|>", "<|tile_x_separator|>", "<|tile_y_separator|>"]);
      assert.ok(middle.every((id) => imageTokens.has(tok.idToToken(id) as string)), `${c.name}: only image layout tokens replace <|image|>`);
      assert.equal(tok.idToToken(middle[0]), "<|image_start|>");
      assert.equal(tok.idToToken(middle[middle.length - 1]), "<|image_end|>");
    }
  }
});

test("decoding the fixtures' greedy tokens gives the reference greedy text", () => {
  for (const model of ["tiny-qwen2_5-vl", "tiny-llama4"] as const) {
    const tok = Tokenizer.fromDir(modelDir(model));
    for (const c of loadCases(model)) {
      assert.equal(tok.decode(c.greedy_tokens, { skipSpecialTokens: true }), c.greedy_text, `${model}/${c.name}`);
    }
  }
});
