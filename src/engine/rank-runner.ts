/**
 * A rank's model and runner, built the same way on every rank of a tensor-parallel group (and on the one rank of an
 * engine without it): the weights loaded (a rank reads only its shard), the KV cache sized by `numPages`.
 */
import { CheckpointWeights } from "../checkpoint/checkpoint-weights.js";
import type { ModelConfig } from "../checkpoint/model-config.js";
import { loadModel } from "../models/registry.js";
import type { Communicator } from "../runtime/communicator.js";
import type { Device } from "../runtime/device.js";
import { ModelRunner } from "../runner/model-runner.js";
import type { CoreOptions } from "./protocol.js";

export interface RankRunnerSpec {
  readonly options: CoreOptions;
  readonly config: ModelConfig;
  readonly device: Device;
  readonly numPages: number;
  readonly eosTokenIds: readonly number[];
  /** The group the model is sharded over; absent: one rank. */
  readonly comm?: Communicator;
  readonly timeSteps?: boolean;
  readonly onProgress?: (loaded: number, total: number) => void;
}

export function loadRankRunner(spec: RankRunnerSpec): ModelRunner {
  const { options, config, device, comm } = spec;
  const checkpoint = options.loadFormat === "dummy" ? null : CheckpointWeights.open(options.modelPath);
  let model;
  try {
    model = loadModel(config, device, checkpoint, {
      loadFormat: options.loadFormat,
      quantization: options.quantization,
      seed: options.randomSeed,
      onProgress: (p) => spec.onProgress?.(p.loaded, p.total),
      comm,
    });
  } finally {
    checkpoint?.close();
  }
  const runner = new ModelRunner(model, device, {
    numPages: spec.numPages, pageSize: options.pageSize, contextLength: options.contextLength, maxTokensPerStep: options.maxTokensPerStep,
    maxRunningRequests: options.maxRunningRequests, eosTokenIds: spec.eosTokenIds, seed: options.randomSeed, graphBuckets: options.graphBuckets,
    visionTokenBudget: options.visionTokenBudget, timeSteps: spec.timeSteps, comm,
  });
  // On a GPU the first call of a product at a new size costs host time with the device idle; paid here instead.
  if (options.device === "cuda") runner.warmProducts();
  return runner;
}

/** The device of rank `rank`: its own GPU on cuda (cuda:rank), the one cpu device otherwise. */
export function rankDeviceIndex(options: CoreOptions, rank: number): number {
  return options.device === "cuda" ? rank : 0;
}
