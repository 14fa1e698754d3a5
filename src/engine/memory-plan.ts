/**
 * The memory a model needs, from its config alone (FP8 matrices counted at their own size), reported (and checked against the machine on the cpu device)
 * before any weight is allocated: a checkpoint that cannot fit fails with a clear error instead of the process.
 */
import { totalmem } from "node:os";
import { kvBytesPerToken } from "../checkpoint/decoder-config.js";
import type { ModelConfig } from "../checkpoint/model-config.js";
import { DTYPE_BYTES } from "../core/dtype.js";
import { IrisError, isIrisError } from "../core/errors.js";
import type { WeightQuantization } from "../layers/parameters.js";
import { headShard } from "../layers/tensor-parallel.js";
import { ShapeOnlyCommunicator } from "../runtime/communicator.js";
import type { TensorDType } from "../runtime/dtype.js";
import { weightFootprint } from "../models/weight-footprint.js";
import type { MemoryPlan } from "./protocol.js";

const GiB = 2 ** 30;

/**
 * What one rank of a tensor-parallel group of `tpSize` holds: its weights (rank 0's shard: every rank's is the same
 * size, the vocabulary split in equal blocks) and the KV cache bytes per token of its KV heads. A `tpSize` the
 * model cannot be split by fails here with INVALID_ARGUMENT, before anything loads.
 */
export function rankShape(config: ModelConfig, tpSize: number, elementBytes: number, quantization: WeightQuantization = null): { parameters: number; weightBytes: number; kvBytesPerToken: number; kvHeads: number } {
  try {
    const comm = new ShapeOnlyCommunicator(0, tpSize);
    const { parameters, bytes } = weightFootprint(config, elementBytes, comm, quantization);
    const { kvHeads } = headShard(config.text.numHeads, config.text.numKvHeads, comm);
    const perToken = kvBytesPerToken(config.text, elementBytes) / config.text.numKvHeads * kvHeads;
    return { parameters, weightBytes: bytes, kvBytesPerToken: perToken, kvHeads };
  } catch (err) {
    if (!isIrisError(err, "CONFIG_INVALID") || tpSize === 1) throw err;
    throw new IrisError("INVALID_ARGUMENT", `tpSize ${tpSize} does not fit this model: ${err.message.replace(/^tensor parallelism: /, "")}`);
  }
}

/**
 * @param usableTokens KV capacity requests can use
 * @param allocatedTokens KV slots allocated (the usable ones plus the padding page)
 * @param tpSize the plan is per rank: each rank holds its shard of the weights and its KV heads' cache
 * @param quantization the engine's `quantization`: FP8 matrices count one byte per element plus their scales
 */
export function memoryPlan(config: ModelConfig, device: string, usableTokens: number, allocatedTokens: number, dtype: TensorDType,
  tpSize = 1, quantization: WeightQuantization = null): MemoryPlan {
  const shape = rankShape(config, tpSize, DTYPE_BYTES[dtype], quantization);
  return {
    device,
    parameters: shape.parameters,
    weightBytes: shape.weightBytes,
    quantization,
    kvCacheBytes: shape.kvBytesPerToken * allocatedTokens,
    maxTotalTokens: usableTokens,
    ...(tpSize > 1 && { tensorParallel: { size: tpSize, kvHeadsPerRank: shape.kvHeads } }),
  };
}

/**
 * The KV tokens a GPU holds when weights and KV cache may take `fraction` of its memory (SGLang's
 * mem_fraction_static): what the weights and the memory already in use leave, in whole pages less the padding page,
 * at most `neededTokens`. OUT_OF_MEMORY, before anything is allocated, when not even two pages fit.
 */
export function kvTokensFromFraction(config: ModelConfig, memory: { freeBytes: number; totalBytes: number }, fraction: number,
  pageSize: number, neededTokens: number, dtype: TensorDType, tpSize = 1, quantization: WeightQuantization = null): number {
  const { weightBytes: weights, kvBytesPerToken: perToken } = rankShape(config, tpSize, DTYPE_BYTES[dtype], quantization);
  const inUse = memory.totalBytes - memory.freeBytes;
  const budget = memory.totalBytes * fraction - inUse - weights;
  const perPage = perToken * pageSize;
  const pages = Math.floor(budget / perPage) - 1;
  if (pages < 2) {
    throw new IrisError(
      "OUT_OF_MEMORY",
      `the model's ${(weights / GiB).toFixed(1)} GiB of weights leave no room for a KV cache in memFractionStatic ${fraction} of the GPU's ${(memory.totalBytes / GiB).toFixed(1)} GiB (${(inUse / GiB).toFixed(1)} GiB already in use); raise memFractionStatic or use a larger GPU`,
    );
  }
  return Math.min(neededTokens, pages * pageSize);
}

/**
 * On the cpu device the weights (widened to float32) and the KV cache must fit in the machine's memory; with tensor
 * parallelism every rank is a thread of this process, so all `tpSize` ranks' shares must fit.
 */
export function checkFits(plan: MemoryPlan, deviceKind: string, tpSize = 1): void {
  if (deviceKind !== "cpu") return;
  const weights = plan.weightBytes * tpSize, kvCache = plan.kvCacheBytes * tpSize;
  const need = weights + kvCache;
  const have = totalmem();
  if (need > 0.9 * have) {
    throw new IrisError(
      "OUT_OF_MEMORY",
      `the model needs ${(weights / GiB).toFixed(1)} GiB of ${plan.quantization === "fp8" ? "FP8 and float32" : "float32"} weights and ${(kvCache / GiB).toFixed(1)} GiB of KV cache on the cpu device, but this machine has ${(have / GiB).toFixed(1)} GiB; use a smaller model, a smaller maxTotalTokens, or a GPU`,
    );
  }
}
