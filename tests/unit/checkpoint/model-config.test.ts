import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelConfig, modelConfigFromHF } from "../../../src/checkpoint/model-config.js";
import { loadGenerationConfig } from "../../../src/checkpoint/generation-config.js";
import { isIrisError } from "../../../src/core/errors.js";
import { modelDir } from "../../helpers/fixtures.js";

const load = (name: string) => loadModelConfig(join(modelDir(name), "config.json"));

test("both layouts of the tiny Qwen2.5-VL give the same normalized config", () => {
  const hub = load("tiny-qwen2_5-vl");
  const v5 = load("tiny-qwen2_5-vl-v5");
  if (hub.family !== "qwen2_5_vl" || v5.family !== "qwen2_5_vl") return assert.fail("both must be Qwen2.5-VL");
  // transformers 5 re-serializes class defaults that the Hub file leaves out; the fields Iris uses must agree.
  const { tokensPerSecond: _a, ...hubVision } = hub.vision;
  const { tokensPerSecond: _b, ...v5Vision } = v5.vision;
  assert.deepEqual(hubVision, v5Vision);
  assert.deepEqual({ ...hub.text, eosTokenIds: [], bosTokenId: 0 }, { ...v5.text, eosTokenIds: [], bosTokenId: 0 });
  assert.deepEqual(hub.tokens, v5.tokens);
  assert.deepEqual(hub.text.rope, { kind: "mrope", section: [2, 3, 3] });
  assert.equal(hub.text.headDim, 16);
  assert.deepEqual(hub.vision.fullAttentionBlocks, [1, 3]);
  assert.ok(Object.isFrozen(hub) && Object.isFrozen(hub.text.rope));
});

test("the 3B and 7B shape configs have the real sizes", () => {
  const b3 = load("qwen2_5-vl-3b-shape");
  const b7 = load("qwen2_5-vl-7b-shape");
  assert.equal(b3.family, "qwen2_5_vl");
  assert.equal(b7.family, "qwen2_5_vl");
  assert.deepEqual(
    [b3.text.numLayers, b3.text.numHeads, b3.text.numKvHeads, b3.text.headDim, b3.text.hiddenSize, b3.text.tieWordEmbeddings],
    [36, 16, 2, 128, 2048, true],
  );
  assert.deepEqual(
    [b7.text.numLayers, b7.text.numHeads, b7.text.numKvHeads, b7.text.headDim, b7.text.hiddenSize, b7.text.tieWordEmbeddings],
    [28, 28, 4, 128, 3584, false],
  );
  for (const c of [b3, b7]) {
    if (c.family !== "qwen2_5_vl") continue;
    assert.equal(c.vision.depth, 32);
    assert.equal(c.vision.headDim, 80);
    assert.deepEqual(c.vision.fullAttentionBlocks, [7, 15, 23, 31]);
  }
  assert.equal(b3.family === "qwen2_5_vl" && b3.vision.outHiddenSize, 2048);
  assert.equal(b7.family === "qwen2_5_vl" && b7.vision.outHiddenSize, 3584);
});

test("both layouts of the tiny Llama 4 and the Scout shape config", () => {
  const hub = load("tiny-llama4");
  const v5 = load("tiny-llama4-v5");
  assert.equal(hub.family, "llama4");
  assert.deepEqual(hub, v5);
  if (hub.family !== "llama4") return;
  assert.deepEqual(hub.text.useRope, [true, true, true, false]);
  assert.equal(hub.text.attentionChunkSize, 48);
  assert.equal(hub.text.numExperts, 4);
  assert.equal(hub.text.floorScale, 16);
  assert.equal(hub.text.rope.kind, "llama3");
  const scout = load("llama4-scout-shape");
  if (scout.family !== "llama4") return assert.fail("Scout must be llama4");
  assert.equal(scout.text.numExperts, 16);
  assert.equal(scout.text.numLayers, 48);
  assert.equal(scout.text.useRope.filter((r) => !r).length, 12);
  assert.ok(scout.text.useRope.every((r, i) => r === ((i + 1) % 4 !== 0)));
  assert.equal(scout.text.attentionChunkSize, 8192);
  assert.equal(scout.text.isMoeLayer.every(Boolean), true);
  assert.equal(scout.text.tieWordEmbeddings, false);
  assert.equal(scout.vision.headDim, 88);
});

test("a bad config gets a typed error naming the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "iris-config-"));
  assert.throws(() => loadModelConfig(join(dir, "config.json")), (e) => isIrisError(e, "CONFIG_INVALID") && /cannot read/.test(e.message));
  writeFileSync(join(dir, "config.json"), "{ not json");
  assert.throws(() => loadModelConfig(join(dir, "config.json")), (e) => isIrisError(e, "CONFIG_INVALID") && /not valid JSON/.test(e.message));
  assert.throws(
    () => modelConfigFromHF({ architectures: ["BertModel"] }),
    (e) => isIrisError(e, "UNSUPPORTED_ARCHITECTURE") && /BertModel/.test(e.message) && /Qwen2_5_VL/.test(e.message),
  );
  assert.throws(() => modelConfigFromHF({}), (e) => isIrisError(e, "CONFIG_INVALID") && /architectures/.test(e.message));
  const broken = { architectures: ["Qwen2_5_VLForConditionalGeneration"], hidden_size: "wide", vision_config: {} };
  assert.throws(() => modelConfigFromHF(broken), (e) => isIrisError(e, "CONFIG_INVALID") && /hidden_size/.test(e.message));
});

test("generation_config.json gives the eos ids; a directory without one gives none", () => {
  const gen = loadGenerationConfig(modelDir("tiny-qwen2_5-vl"));
  assert.deepEqual(gen.eosTokenIds, [151645, 151643]);
  assert.equal(gen.repetitionPenalty, 1.05);
  assert.deepEqual(loadGenerationConfig(mkdtempSync(join(tmpdir(), "iris-gen-"))).eosTokenIds, []);
});
