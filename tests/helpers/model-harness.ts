/**
 * Runs a model's forward pass on one whole prompt, outside the engine: the cache pages laid out in order, one
 * sequence, logits of the last token. For layer-by-layer parity tests against the reference fixtures.
 */
import { join } from "node:path";
import { CheckpointWeights } from "../../src/checkpoint/checkpoint-weights.js";
import { loadModelConfig, type ModelConfig } from "../../src/checkpoint/model-config.js";
import { empty, fromHost } from "../../src/runtime/creation.js";
import { getDevice, type Device } from "../../src/runtime/device.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import type { Communicator } from "../../src/runtime/communicator.js";
import type { WeightQuantization } from "../../src/layers/parameters.js";
import type { VisionLanguageModel } from "../../src/models/model.js";
import { loadModel } from "../../src/models/registry.js";
import { buildAttentionBatch, queryScales } from "./attention-batch.js";
import { modelDir } from "./fixtures.js";

/**
 * @param comm a tensor-parallel group: the model is that rank's shard
 * @param quantization "fp8": the decoder's matrices quantized while loading
 * @returns also the checkpoint bytes the load read, and the checkpoint's size
 */
export function loadFixtureModel(name: string, device: Device = getDevice("cpu"), comm?: Communicator,
  quantization: WeightQuantization = null): { model: VisionLanguageModel; config: ModelConfig; bytesRead: number; checkpointBytes: number } {
  const dir = modelDir(name);
  const config = loadModelConfig(join(dir, "config.json"));
  const weights = CheckpointWeights.open(dir);
  try {
    const model = loadModel(config, device, weights, { comm, quantization });
    return { model, config, bytesRead: weights.bytesRead, checkpointBytes: weights.totalBytes() };
  } finally {
    weights.close();
  }
}

/** Logits of the last prompt token, with the prompt's positions ([L, rows] row-major) and image embeddings. */
export function promptLogits(model: VisionLanguageModel, inputIds: Int32Array, positions: Int32Array,
  imageEmbeddings: Tensor | null, pageSize = 16): Tensor {
  const device = model.parameters.device;
  const text = model.config.text;
  const L = inputIds.length;
  const pages = Math.ceil(L / pageSize) + 1;
  // Pages out of order, to exercise the page table.
  const pageList = Array.from({ length: pages }, (_, i) => pages - 1 - i);
  const caches = Array.from({ length: text.numLayers }, () => ({
    k: empty(device, [pages * pageSize, model.kvHeads, text.headDim]),
    v: empty(device, [pages * pageSize, model.kvHeads, text.headDim]),
  }));
  const slots = Int32Array.from({ length: L }, (_, i) => pageList[Math.floor(i / pageSize)] * pageSize + (i % pageSize));
  const attention = buildAttentionBatch(device, caches, pageSize, [{ queryCount: L, kvLen: L, pages: pageList, slots }]);
  const imageRows = Int32Array.from([...inputIds.keys()].filter((i) => inputIds[i] === model.imageTokenId));
  return model.forward({
    inputIds: fromHost(device, inputIds, { dtype: "I32" }),
    positions: fromHost(device, positions, { dtype: "I32", shape: [L, model.positionRows] }),
    queryScales: queryScales(device, model, Int32Array.from({ length: L }, (_, i) => i)),
    images: imageEmbeddings ? { rows: fromHost(device, imageRows, { dtype: "I32" }), embeddings: imageEmbeddings } : null,
    attention,
    logitRows: fromHost(device, Int32Array.from([L - 1]), { dtype: "I32" }),
  });
}
