/**
 * Weight memory from the config alone: the Scout shape config (no weights) loads with its experts, NoPE layers and
 * chunk size, and its parameter count is known before anything is allocated; the tiny model's count equals its
 * checkpoint's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { CheckpointWeights } from "../../../src/checkpoint/checkpoint-weights.js";
import { loadModelConfig, type Llama4Config } from "../../../src/checkpoint/model-config.js";
import { numel } from "../../../src/core/host-tensor.js";
import { weightFootprint, type DeclaredWeight } from "../../../src/models/weight-footprint.js";
import { LAYOUTS, modelDir } from "../../helpers/fixtures.js";

function llama4Config(name: string): Llama4Config {
  const config = loadModelConfig(join(modelDir(name), "config.json"));
  assert.equal(config.family, "llama4");
  return config;
}

const sum = (weights: readonly DeclaredWeight[]) => weights.reduce((n, w) => n + numel(w.shape), 0);

test("Scout: 16 experts, NoPE every 4th layer, chunks of 8192, and about 109B parameters (17B active)", () => {
  const config = llama4Config("llama4-scout-shape");
  const t = config.text;
  assert.equal(t.numExperts, 16);
  assert.equal(t.expertsPerToken, 1);
  assert.equal(t.numLayers, 48);
  assert.deepEqual(t.isMoeLayer, Array(48).fill(true));
  assert.deepEqual([...t.useRope.keys()].filter((i) => !t.useRope[i]), [3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47]);
  assert.equal(t.attentionChunkSize, 8192);
  assert.equal(t.tieWordEmbeddings, false);

  const footprint = weightFootprint(config, 2);
  // Llama-4-Scout-17B-16E: 109B parameters in all (17B active: the other 15 of each layer's 16 experts idle).
  assert.equal(footprint.parameters, sum(footprint.weights));
  assert.equal(footprint.parameters, 108_641_793_536);
  assert.equal(footprint.bytes, 2 * footprint.parameters);
  const routed = sum(footprint.weights.filter((w) => w.name.includes(".experts.")));
  const vision = sum(footprint.weights.filter((w) => !w.name.startsWith("language_model.")));
  const activeText = footprint.parameters - vision - (routed * 15) / 16;
  assert.ok(Math.abs(activeText - 17e9) < 0.3e9, `active text parameters ${activeText}`);
  assert.deepEqual(footprint.weights.find((w) => w.name.endsWith("layers.0.feed_forward.experts.gate_up_proj"))?.shape, [16, 5120, 16384]);
  assert.ok(footprint.weights.some((w) => w.name === "language_model.lm_head.weight"));
  console.log(`Scout: ${footprint.parameters} parameters, ${(footprint.bytes / 2 ** 30).toFixed(1)} GiB in bf16, `
    + `${(activeText / 1e9).toFixed(2)}B active in the text model, ${(vision / 1e9).toFixed(3)}B vision + projector`);
});

for (const layout of LAYOUTS["tiny-llama4"]) {
  test(`${layout}: the footprint names exactly the checkpoint's tensors and counts its parameters`, () => {
    const footprint = weightFootprint(llama4Config(layout), 2);
    const weights = CheckpointWeights.open(modelDir(layout));
    try {
      const names = weights.names();
      // The tied model reads its output head from the embeddings: no tensor of its own.
      assert.deepEqual(footprint.weights.flatMap((w) => w.sources).sort(), [...names].sort());
      const stored = names.reduce((n, name) => n + numel(weights.info(name).shape), 0);
      assert.equal(footprint.parameters, stored);
      assert.equal(footprint.parameters, 8_991_040);
      // The checkpoint is bfloat16: two bytes per element, as asked for.
      assert.equal(footprint.bytes, weights.totalBytes());
    } finally {
      weights.close();
    }
  });
}
