/**
 * Processor settings from both model-folder layouts, translated once to typed frozen configs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isIrisError } from "../../../src/core/errors.js";
import { loadLlama4ProcessorConfig, llama4ProcessorConfigFromJson } from "../../../src/multimodal/llama4-processor-config.js";
import { loadQwen2VLProcessorConfig, qwen2VLProcessorConfigFromJson, QWEN2_VL_PROCESSOR_DEFAULTS } from "../../../src/multimodal/qwen2-vl-processor-config.js";
import { LAYOUTS, modelDir } from "../../helpers/fixtures.js";

test("Qwen: the Hub layout (min_pixels/max_pixels) and the v5 layout (size.*_edge) give the same config", async () => {
  const [hub, v5] = await Promise.all(LAYOUTS["tiny-qwen2_5-vl"].map((name) => loadQwen2VLProcessorConfig(modelDir(name))));
  assert.deepEqual(hub, v5);
  assert.equal(hub.minPixels, 3136);
  assert.equal(hub.maxPixels, 125440);
  assert.equal(hub.resample, "bicubic");
  assert.deepEqual(hub.imageStd, [0.26862954, 0.26130258, 0.27577711]);
  assert.ok(Object.isFrozen(hub) && Object.isFrozen(hub.imageMean));
  const real = await loadQwen2VLProcessorConfig(modelDir("qwen2_5-vl-7b-shape"));
  assert.equal(real.maxPixels, 12845056);
});

test("Qwen: min_pixels/max_pixels override size; missing keys take the class defaults", () => {
  const config = qwen2VLProcessorConfigFromJson({ size: { shortest_edge: 100, longest_edge: 2000 }, max_pixels: 5000 });
  assert.deepEqual([config.minPixels, config.maxPixels], [100, 5000]);
  assert.deepEqual(qwen2VLProcessorConfigFromJson({}), QWEN2_VL_PROCESSOR_DEFAULTS);
  assert.equal(QWEN2_VL_PROCESSOR_DEFAULTS.maxPixels, 28 * 28 * 1280);
});

test("Qwen: invalid values are CONFIG_INVALID naming the key", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ patch_size: 0 }, /patch_size/],
    [{ resample: 1 }, /resample 1 is not supported/],
    [{ image_std: [1, 0, 1] }, /image_std/],
    [{ min_pixels: 10, max_pixels: 5 }, /min_pixels 10 is above max_pixels 5/],
    [{ image_mean: "x" }, /image_mean/],
  ];
  for (const [json, pattern] of bad) {
    assert.throws(() => qwen2VLProcessorConfigFromJson(json), (e: unknown) => isIrisError(e, "CONFIG_INVALID") && pattern.test((e as Error).message));
  }
});

test("Llama 4: both layouts give the same config; the pixel shuffle ratio comes from config.json", async () => {
  const [hub, v5] = await Promise.all(LAYOUTS["tiny-llama4"].map((name) => loadLlama4ProcessorConfig(modelDir(name))));
  assert.deepEqual(hub, v5);
  assert.equal(hub.maxPatches, 4);
  assert.equal(hub.tileSize, 336);
  assert.equal(hub.resample, "bilinear");
  assert.equal(hub.patchSize, 14);
  assert.equal(hub.pixelShuffleRatio, 0.5);
  assert.equal(hub.tokens.image, "<|image|>");
  const scout = await loadLlama4ProcessorConfig(modelDir("llama4-scout-shape"));
  assert.equal(scout.maxPatches, 16);
  const custom = llama4ProcessorConfigFromJson({}, {}, { vision_config: { pixel_shuffle_ratio: 0.25 } });
  assert.equal(custom.pixelShuffleRatio, 0.25);
});

test("Llama 4: a non-square tile size is refused", () => {
  assert.throws(() => llama4ProcessorConfigFromJson({ size: { height: 336, width: 448 } }), (e: unknown) => isIrisError(e, "CONFIG_INVALID"));
});

test("a folder without processor settings is MODEL_LOAD; broken JSON is CONFIG_INVALID", async () => {
  const dir = mkdtempSync(join(tmpdir(), "iris-config-"));
  try {
    await assert.rejects(loadQwen2VLProcessorConfig(dir), (e: unknown) => isIrisError(e, "MODEL_LOAD") && /preprocessor_config\.json/.test((e as Error).message));
    writeFileSync(join(dir, "preprocessor_config.json"), "{ not json");
    await assert.rejects(loadQwen2VLProcessorConfig(dir), (e: unknown) => isIrisError(e, "CONFIG_INVALID"));
    writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify({ max_pixels: 9999 }));
    writeFileSync(join(dir, "processor_config.json"), JSON.stringify({ image_processor: { max_pixels: 7777 } }));
    assert.equal((await loadQwen2VLProcessorConfig(dir)).maxPixels, 7777); // processor_config.json wins
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
