/**
 * GatedMLP pads an intermediate size that is not a multiple of 16 (Qwen2.5-VL's vision MLP: 3420) with zero rows of
 * gate and up and zero columns of down; the output must be the unpadded MLP's, with and without biases.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointWeights } from "../../../src/checkpoint/checkpoint-weights.js";
import { saveSafetensors } from "../../../src/checkpoint/safetensors.js";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { GatedMLP } from "../../../src/layers/gated-mlp.js";
import { Parameters } from "../../../src/layers/parameters.js";
import { loadWeights } from "../../../src/models/load-weights.js";
import { assertClose, device, randomArray, randomTensor, read, rng } from "../kernels/helpers.js";

const H = 8, I = 20; // 20 pads to 32

function reference(x: Float32Array, T: number, w: Record<string, Float32Array>, bias: boolean): Float64Array {
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const out = new Float64Array(T * H);
  for (let t = 0; t < T; t++) {
    const act = new Float64Array(I);
    for (let i = 0; i < I; i++) {
      let g = bias ? w.gateBias[i] : 0, u = bias ? w.upBias[i] : 0;
      for (let k = 0; k < H; k++) {
        g += x[t * H + k] * w.gate[i * H + k];
        u += x[t * H + k] * w.up[i * H + k];
      }
      act[i] = silu(g) * u;
    }
    for (let n = 0; n < H; n++) {
      let s = bias ? w.downBias[n] : 0;
      for (let i = 0; i < I; i++) s += act[i] * w.down[n * I + i];
      out[t * H + n] = s;
    }
  }
  return out;
}

for (const bias of [false, true]) {
  test(`an intermediate size of 20 is stored as 32 and computes the unpadded MLP${bias ? " (with biases)" : ""}`, async () => {
    const random = rng(bias ? 41 : 42);
    const w = {
      gate: randomArray(I * H, random), up: randomArray(I * H, random), down: randomArray(H * I, random),
      gateBias: randomArray(I, random), upBias: randomArray(I, random), downBias: randomArray(H, random),
    };
    const tensors: Record<string, ReturnType<typeof hostTensor>> = {
      "mlp.gate_proj.weight": hostTensor("F32", [I, H], w.gate),
      "mlp.up_proj.weight": hostTensor("F32", [I, H], w.up),
      "mlp.down_proj.weight": hostTensor("F32", [H, I], w.down),
    };
    if (bias) {
      tensors["mlp.gate_proj.bias"] = hostTensor("F32", [I], w.gateBias);
      tensors["mlp.up_proj.bias"] = hostTensor("F32", [I], w.upBias);
      tensors["mlp.down_proj.bias"] = hostTensor("F32", [H], w.downBias);
    }
    const dir = mkdtempSync(join(tmpdir(), "iris-gated-mlp-"));
    saveSafetensors(join(dir, "model.safetensors"), tensors);
    const params = new Parameters(device);
    const mlp = new GatedMLP(params, "mlp", H, I, bias);
    const checkpoint = CheckpointWeights.open(dir);
    try {
      loadWeights(params, checkpoint);
    } finally {
      checkpoint.close();
    }
    const shapes = Object.fromEntries(params.all().map((p) => [p.name, p.tensor.shape]));
    assert.deepEqual(shapes["mlp.gate_up_proj.weight"], [64, H]);
    assert.deepEqual(shapes["mlp.down_proj.weight"], [H, 32]);
    const T = 3;
    const x = randomTensor([T, H], random);
    assertClose(await read(mlp.forward(x.t)), reference(x.data, T, w, bias), `padded MLP${bias ? " with biases" : ""}`);
  });
}
