/**
 * The model families Iris runs, by the `family` of the normalized config (itself chosen by the HF `architectures`
 * name), and how each family's checkpoint names map onto the Hub-layout names its layers declare.
 */
import type { CheckpointWeights } from "../checkpoint/checkpoint-weights.js";
import type { ModelConfig, ModelFamily } from "../checkpoint/model-config.js";
import { Parameters, type WeightQuantization } from "../layers/parameters.js";
import type { Communicator } from "../runtime/communicator.js";
import type { Device } from "../runtime/device.js";
import { loadDummyWeights, loadWeights, type LoadProgress } from "./load-weights.js";
import { Llama4 } from "./llama4.js";
import type { VisionLanguageModel } from "./model.js";
import { Qwen2_5_VL } from "./qwen2-5-vl.js";

interface FamilyEntry {
  create(config: ModelConfig, device: Device, params?: Parameters, comm?: Communicator): VisionLanguageModel;
  /**
   * transformers 4.52+ and 5 save some checkpoints with in-memory names (`model.language_model.layers...`); these
   * rewrite them to the Hub names, leaving Hub names as they are.
   */
  readonly renames: readonly [RegExp, string][];
}

const FAMILIES: Record<ModelFamily, FamilyEntry> = {
  qwen2_5_vl: {
    create: (config, device, params, comm) => new Qwen2_5_VL(config as Extract<ModelConfig, { family: "qwen2_5_vl" }>, device, params, comm),
    renames: [[/^model\.language_model\./, "model."], [/^model\.visual\./, "visual."]],
  },
  llama4: {
    create: (config, device, params, comm) => new Llama4(config as Extract<ModelConfig, { family: "llama4" }>, device, params, comm),
    renames: [
      [/^model\.language_model\./, "language_model.model."],
      [/^model\.vision_model\./, "vision_model."],
      [/^model\.multi_modal_projector\./, "multi_modal_projector."],
      [/^lm_head\./, "language_model.lm_head."],
    ],
  },
};

/**
 * Builds the model; its weights are declared in `params` (allocated, unless a census only counts them). With `comm`,
 * the instance is that rank's shard of the model.
 */
export function createModel(config: ModelConfig, device: Device, params?: Parameters, comm?: Communicator): VisionLanguageModel {
  return FAMILIES[config.family].create(config, device, params, comm);
}

export interface LoadModelOptions {
  /** `dummy`: random weights from the config alone (for benchmarks at real scale). */
  readonly loadFormat?: "auto" | "dummy";
  readonly seed?: number;
  readonly onProgress?: (progress: LoadProgress) => void;
  /** The tensor-parallel group this instance is one rank of: it reads and keeps only its shard of the weights. */
  readonly comm?: Communicator;
  /** "fp8": the decoder's matrices in FP8 E4M3 with per-channel scales, quantized while loading (or made so). */
  readonly quantization?: WeightQuantization;
}

/** Builds the model for `config` on `device` and fills its weights from the checkpoint (or randomly). */
export function loadModel(config: ModelConfig, device: Device, checkpoint: CheckpointWeights | null,
  options: LoadModelOptions = {}): VisionLanguageModel {
  const model = createModel(config, device, new Parameters(device, device.floatDType, options.quantization ?? null), options.comm);
  if (options.loadFormat === "dummy" || checkpoint === null) {
    loadDummyWeights(model.parameters, options.seed ?? 0, options.onProgress);
    return model;
  }
  const renames = FAMILIES[config.family].renames;
  const tied = config.text.tieWordEmbeddings;
  loadWeights(model.parameters, checkpoint, {
    toHubName: (name) => renames.reduce((n, [pattern, replacement]) => n.replace(pattern, replacement), name),
    // Some tied checkpoints still carry a copy of the output head; the tied model reads the embeddings instead.
    ignorable: (name) => tied && /(^|\.)lm_head\.weight$/.test(name),
    onProgress: options.onProgress,
  });
  return model;
}
