/**
 * The loader checks each checkpoint tensor's declared shape against the parameter it fills, dim for dim: a transposed
 * tensor or a changed rank with the same element count is refused, where comparing counts alone loaded nonsense.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointWeights } from "../../../src/checkpoint/checkpoint-weights.js";
import { saveSafetensors } from "../../../src/checkpoint/safetensors.js";
import { isIrisError } from "../../../src/core/errors.js";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { Parameters } from "../../../src/layers/parameters.js";
import { loadWeights } from "../../../src/models/load-weights.js";
import { cpuDevice } from "../../../src/runtime/device.js";

function checkpointWith(shape: number[]): CheckpointWeights {
  const dir = mkdtempSync(join(tmpdir(), "iris-load-shape-"));
  const n = shape.reduce((a, b) => a * b, 1);
  saveSafetensors(join(dir, "model.safetensors"), { w: hostTensor("F32", shape, Float32Array.from({ length: n }, (_, i) => i)) });
  return CheckpointWeights.open(dir);
}

function load(declared: number[], stored: number[]): void {
  const params = new Parameters(cpuDevice());
  params.add("w", declared);
  const checkpoint = checkpointWith(stored);
  try {
    loadWeights(params, checkpoint);
  } finally {
    checkpoint.close();
  }
}

test("a tensor of the declared shape loads", () => {
  load([8, 3], [8, 3]);
});

test("a transposed tensor is refused though its element count matches", () => {
  assert.throws(() => load([8, 3], [3, 8]), (e) => isIrisError(e, "MODEL_LOAD") && /has shape \[3, 8\], but w needs \[8, 3\]/.test(e.message));
});

test("a changed rank is refused though its element count matches", () => {
  assert.throws(() => load([8, 3], [24]), (e) => isIrisError(e, "MODEL_LOAD") && /needs \[8, 3\]/.test(e.message));
  assert.throws(() => load([8, 3], [8, 3, 1]), (e) => isIrisError(e, "MODEL_LOAD") && /needs \[8, 3\]/.test(e.message));
  assert.throws(() => load([24], [8, 3]), (e) => isIrisError(e, "MODEL_LOAD") && /needs \[24\]/.test(e.message));
});

test("a patch-embedding convolution [out, in, t, kh, kw] fills its [out, in*t*kh*kw] matrix", () => {
  load([4, 3 * 2 * 2 * 2], [4, 3, 2, 2, 2]);
  assert.throws(() => load([4, 24], [3, 4, 2, 2, 2]), (e) => isIrisError(e, "MODEL_LOAD"));
});
