/**
 * `quantization: "fp8"` in the model's weights: which parameters become FP8 (the decoder's projections and experts;
 * never embeddings, norms, biases, the router, the head or the vision encoder), that loading quantizes each checkpoint
 * tensor into the right rows (fused q|k|v blocks, transposed expert stacks) within E4M3's rounding, that dummy FP8
 * weights are made directly, and that the weight footprint counts one byte per FP8 element plus its row scales.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { CheckpointWeights } from "../../../src/checkpoint/checkpoint-weights.js";
import { loadModelConfig } from "../../../src/checkpoint/model-config.js";
import { toFloat32 } from "../../../src/core/host-tensor.js";
import type { Parameter } from "../../../src/layers/parameters.js";
import { loadModel } from "../../../src/models/registry.js";
import { weightFootprint } from "../../../src/models/weight-footprint.js";
import { downloadFloat32 } from "../../../src/runtime/creation.js";
import { cpuDevice } from "../../../src/runtime/device.js";
import { modelDir } from "../../helpers/fixtures.js";

const device = cpuDevice();
const QUANTIZED = /^(language_model\.)?model\.layers\.\d+\.(self_attn\.(qkv|o)_proj\.weight|(mlp|feed_forward)\.(gate_up_proj|down_proj)\.weight|feed_forward\.experts\.(gate_up|down)_proj|feed_forward\.shared_expert\.(gate_up|down)_proj\.weight)$/;

function byName(params: readonly Parameter[]): Map<string, Parameter> {
  return new Map(params.map((p) => [p.name, p]));
}

for (const fixture of ["tiny-qwen2_5-vl", "tiny-llama4"]) {
  test(`${fixture}: the decoder's matrices load as FP8 rows of the checkpoint's values, everything else as floats`, async () => {
    const dir = modelDir(fixture);
    const config = loadModelConfig(join(dir, "config.json"));
    const checkpoint = CheckpointWeights.open(dir);
    try {
      const model = loadModel(config, device, checkpoint, { quantization: "fp8" });
      const params = model.parameters.all();
      assert.ok(params.some((p) => p.fp8) && params.some((p) => !p.fp8));
      for (const p of params) {
        assert.equal(p.fp8 !== undefined, QUANTIZED.test(p.name), `${p.name}: FP8 ${p.fp8 !== undefined}`);
        assert.equal(p.tensor.dtype, p.fp8 ? "F8_E4M3" : "F32", p.name);
        if (!p.fp8) continue;
        // Dequantized data against each checkpoint tensor that fills its rows (experts: transposed back).
        const data = await downloadFloat32(p.tensor), scale = await downloadFloat32(p.fp8.scale);
        const K = p.tensor.shape[p.tensor.rank - 1], N = p.tensor.shape[p.tensor.rank - 2];
        for (const source of p.sources) {
          const values = toFloat32(checkpoint.read(source.name)); // these fixtures use the Hub names
          let worst = 0;
          for (let i = 0; i < values.length; i++) {
            // Index of value i in the stored [..., N, K] layout (experts' checkpoint layout is [E, K, N]).
            let stored: number;
            if (p.fp8.transposed) {
              const e = Math.floor(i / (K * N)), k = Math.floor((i % (K * N)) / N), n = i % N;
              stored = (e * N + n) * K + k;
            } else {
              stored = source.rowOffset * K + i;
            }
            const row = Math.floor(stored / K);
            const error = Math.abs(data[stored] * scale[row] - values[i]);
            assert.ok(error <= 2 ** -4 * Math.abs(values[i]) + 2 ** -10 * scale[row], `${p.name} element ${i}: ${data[stored] * scale[row]} vs ${values[i]}`);
            worst = Math.max(worst, error);
          }
          assert.ok(worst > 0, `${p.name}: quantization changed nothing`);
        }
      }
    } finally {
      checkpoint.close();
    }
  });
}

test("dummy FP8 weights are made as FP8: uniform bytes with the scale 1e-3 / 448, the float ones unchanged", async () => {
  const config = loadModelConfig(join(modelDir("tiny-llama4"), "config.json"));
  const model = loadModel(config, device, null, { loadFormat: "dummy", quantization: "fp8", seed: 3 });
  const float = byName(loadModel(config, device, null, { loadFormat: "dummy", seed: 3 }).parameters.all());
  for (const p of model.parameters.all()) {
    if (!p.fp8) {
      assert.deepEqual(await downloadFloat32(p.tensor), await downloadFloat32(float.get(p.name)!.tensor), p.name);
      continue;
    }
    const scale = await downloadFloat32(p.fp8.scale), data = await downloadFloat32(p.tensor);
    assert.ok(scale.every((s) => s === Math.fround(1e-3 / 448)), p.name);
    const values = data.map((v) => v * scale[0]);
    assert.ok(values.every((v) => Math.abs(v) <= 1e-3) && values.some((v) => Math.abs(v) > 5e-4), p.name);
  }
});

test("the footprint counts FP8 matrices at a byte per element plus a float32 scale per row: Scout 217 GB -> 112 GB", () => {
  const config = loadModelConfig(join(modelDir("llama4-scout-shape"), "config.json"));
  const bf16 = weightFootprint(config, 2), fp8 = weightFootprint(config, 2, undefined, "fp8");
  assert.equal(fp8.parameters, bf16.parameters);
  let expected = 0;
  for (const w of fp8.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    expected += w.fp8 ? n + 4 * (n / w.shape[w.shape.length - 1]) : 2 * n;
    assert.equal(w.fp8, QUANTIZED.test(w.name), w.name);
  }
  assert.equal(fp8.bytes, expected);
  // 108.6B parameters: 217 GB in bf16; the routed and shared experts and attention (105.5B) in FP8 leave the embeddings,
  // the head, routers and the vision model (3.1B) in bf16.
  assert.ok(Math.abs(bf16.bytes - 217.3e9) < 0.1e9, `bf16 ${bf16.bytes}`);
  assert.ok(Math.abs(fp8.bytes - 111.7e9) < 0.1e9, `fp8 ${fp8.bytes}`);
  const experts = fp8.weights.find((w) => w.name === "language_model.model.layers.0.feed_forward.experts.gate_up_proj")!;
  assert.deepEqual(experts.shape, [16, 2 * 8192, 5120], "experts stored as [E, out, in]");
});
