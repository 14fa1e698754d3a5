/**
 * The memory a model needs, from its config alone, reported (and checked against the machine on the cpu device)
 * before any weight is allocated: a checkpoint that cannot fit fails with a clear error instead of the process.
 */
import { totalmem } from "node:os";
import { kvBytesPerToken } from "../checkpoint/decoder-config.js";
import type { ModelConfig } from "../checkpoint/model-config.js";
import { DTYPE_BYTES } from "../core/dtype.js";
import { IrisError } from "../core/errors.js";
import type { TensorDType } from "../runtime/dtype.js";
import { weightFootprint } from "../models/weight-footprint.js";
import type { MemoryPlan } from "./protocol.js";

const GiB = 2 ** 30;

/**
 * @param usableTokens KV capacity requests can use
 * @param allocatedTokens KV slots allocated (the usable ones plus the padding page)
 */
export function memoryPlan(config: ModelConfig, device: string, usableTokens: number, allocatedTokens: number, dtype: TensorDType): MemoryPlan {
  const elementBytes = DTYPE_BYTES[dtype];
  const { parameters, bytes } = weightFootprint(config, elementBytes);
  return {
    device,
    parameters,
    weightBytes: bytes,
    kvCacheBytes: kvBytesPerToken(config.text, elementBytes) * allocatedTokens,
    maxTotalTokens: usableTokens,
  };
}

/**
 * The KV tokens a GPU holds when weights and KV cache may take `fraction` of its memory (SGLang's
 * mem_fraction_static): what the weights and the memory already in use leave, in whole pages less the padding page,
 * at most `neededTokens`. OUT_OF_MEMORY, before anything is allocated, when not even two pages fit.
 */
export function kvTokensFromFraction(config: ModelConfig, memory: { freeBytes: number; totalBytes: number }, fraction: number,
  pageSize: number, neededTokens: number, dtype: TensorDType): number {
  const { bytes: weights } = weightFootprint(config, DTYPE_BYTES[dtype]);
  const inUse = memory.totalBytes - memory.freeBytes;
  const budget = memory.totalBytes * fraction - inUse - weights;
  const perPage = kvBytesPerToken(config.text, DTYPE_BYTES[dtype]) * pageSize;
  const pages = Math.floor(budget / perPage) - 1;
  if (pages < 2) {
    throw new IrisError(
      "OUT_OF_MEMORY",
      `the model's ${(weights / GiB).toFixed(1)} GiB of weights leave no room for a KV cache in memFractionStatic ${fraction} of the GPU's ${(memory.totalBytes / GiB).toFixed(1)} GiB (${(inUse / GiB).toFixed(1)} GiB already in use); raise memFractionStatic or use a larger GPU`,
    );
  }
  return Math.min(neededTokens, pages * pageSize);
}

/** On the cpu device the weights (widened to float32) and the KV cache must fit in the machine's memory. */
export function checkFits(plan: MemoryPlan, deviceKind: string): void {
  if (deviceKind !== "cpu") return;
  const need = plan.weightBytes + plan.kvCacheBytes;
  const have = totalmem();
  if (need > 0.9 * have) {
    throw new IrisError(
      "OUT_OF_MEMORY",
      `the model needs ${(plan.weightBytes / GiB).toFixed(1)} GiB of float32 weights and ${(plan.kvCacheBytes / GiB).toFixed(1)} GiB of KV cache on the cpu device, but this machine has ${(have / GiB).toFixed(1)} GiB; use a smaller model, a smaller maxTotalTokens, or a GPU`,
    );
  }
}
