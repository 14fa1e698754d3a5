/**
 * The warm-up of the model's matrix products before the first request: every layer's product is declared (q|k|v,
 * o, gate|up, down, the head, the vision tower's), each distinct product runs once at 16, 32, ... rows up to the
 * bucket of the largest step, never past its memory cap, and the declared forward equals the layer's own.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { loadModelConfig } from "../../../src/checkpoint/model-config.js";
import type { DeclaredProduct } from "../../../src/layers/parameters.js";
import { loadModel } from "../../../src/models/registry.js";
import { downloadFloat32, fromHost } from "../../../src/runtime/creation.js";
import { cpuDevice } from "../../../src/runtime/device.js";
import type { Tensor } from "../../../src/runtime/tensor.js";
import { warmProducts } from "../../../src/runner/product-warmup.js";
import { modelDir } from "../../helpers/fixtures.js";

const device = cpuDevice();

test("tiny Qwen2.5-VL declares every product of its decoder, head and vision tower", () => {
  const config = loadModelConfig(join(modelDir("tiny-qwen2_5-vl"), "config.json"));
  const model = loadModel(config, device, null, { loadFormat: "dummy", seed: 1 });
  const names = model.parameters.products.map((p) => p.name);
  for (const expected of [/layers\.0\.self_attn\.qkv_proj$/, /layers\.0\.self_attn\.o_proj$/, /layers\.0\.mlp\.gate_up_proj$/,
    /layers\.0\.mlp\.down_proj$/, /^lm_head\.weight$/, /visual\.blocks\.0\.attn\.qkv$/, /visual\.patch_embed\.proj$/, /visual\.merger\.mlp\.2$/]) {
    assert.ok(names.some((n) => expected.test(n)), `${expected} among ${names.length} products`);
  }
  // Every layer declares its own; the keys fold equal shapes together (one per kind of product a tower).
  const keys = new Set(model.parameters.products.map((p) => p.key));
  assert.ok(keys.size < names.length && keys.size >= 8, `${keys.size} keys for ${names.length} products`);
});

test("a declared product's forward is the layer's product", async () => {
  const config = loadModelConfig(join(modelDir("tiny-qwen2_5-vl"), "config.json"));
  const model = loadModel(config, device, null, { loadFormat: "dummy", seed: 2 });
  const qkv = model.parameters.products.find((p) => /layers\.1\.self_attn\.qkv_proj$/.test(p.name))!;
  const x = fromHost(device, Float32Array.from({ length: 3 * qkv.inFeatures }, (_, i) => Math.sin(i)), { shape: [3, qkv.inFeatures] });
  const out = await downloadFloat32(qkv.forward(x));
  assert.equal(out.length, 3 * qkv.outFeatures);
  assert.ok(out.some((v) => v !== 0) && out.every(Number.isFinite));
});

test("each distinct product runs once a bucket, 16 rows up to the bucket of the largest step, within its memory cap", () => {
  const calls: string[] = [];
  const product = (name: string, key: string, inFeatures: number, outFeatures: number): DeclaredProduct => ({
    name, key, inFeatures, outFeatures,
    forward: (x: Tensor) => {
      assert.deepEqual(x.shape, [x.shape[0], inFeatures]);
      calls.push(`${key}@${x.shape[0]}`);
      return x;
    },
  });
  const products = [
    product("a.0", "small", 8, 16), product("a.1", "small", 8, 16), // 128 rows: 12 KiB
    // 1,024 features in all: 16 rows take 64 KiB in float32, 32 take 128 KiB: a 100 KiB cap stops after 16.
    product("wide", "wide", 512, 512),
  ];
  let scopes = 0;
  const report = warmProducts(device, products, { maxRows: 100, scope: (fn) => { scopes++; fn(); }, bytesPerProduct: 100 * 1024 });
  assert.deepEqual(calls, ["small@16", "small@32", "small@64", "small@128", "wide@16"]);
  assert.deepEqual([report.products, report.calls, scopes], [2, 5, 5]);
});
