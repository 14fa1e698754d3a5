/**
 * `Engine.getServerInfo()`: SGLang's `get_server_info` for Iris, in camelCase: the resolved settings the engine
 * runs with, the scheduler's limits and internal state, the kernels and the version.
 */
import type { SchedulerStats } from "../scheduler/types.js";
import type { LogLevel } from "../utils/logger.js";
import { packageVersion } from "../utils/package-version.js";
import type { KernelsInfo } from "./kernels-info.js";
import type { CoreInfo, CoreOptions } from "./protocol.js";

export interface ServerInfo {
  readonly version: string;
  readonly modelPath: string;
  readonly chatTemplate: string | null;
  readonly device: "cpu" | "cuda";
  readonly loadFormat: "auto" | "dummy";
  /** SGLang's `quantization`: "fp8" or null. */
  readonly quantization: "fp8" | null;
  readonly contextLength: number;
  /** The longest prompt a request may have (SGLang's `max_req_input_len`). */
  readonly maxReqInputLen: number;
  /** KV cache capacity in tokens (SGLang's `max_total_num_tokens`). */
  readonly maxTotalNumTokens: number;
  readonly pageSize: number;
  readonly maxRunningRequests: number;
  readonly chunkedPrefillSize: number;
  readonly disableRadixCache: boolean;
  readonly randomSeed: number;
  readonly logLevel: LogLevel;
  readonly kernels: KernelsInfo;
  readonly parameters: number;
  readonly weightBytes: number;
  readonly kvCacheBytes: number;
  /** One entry per scheduler (one here), as SGLang's `internal_states`. */
  readonly internalStates: readonly SchedulerStats[];
}

export function serverInfo(core: CoreOptions, info: CoreInfo, chatTemplate: string | undefined, logLevel: LogLevel, stats: SchedulerStats): ServerInfo {
  return {
    version: packageVersion(),
    modelPath: core.modelPath,
    chatTemplate: chatTemplate ?? null,
    device: core.device,
    loadFormat: core.loadFormat,
    quantization: core.quantization,
    contextLength: core.contextLength,
    maxReqInputLen: core.contextLength - 1,
    maxTotalNumTokens: info.maxTotalTokens,
    pageSize: core.pageSize,
    maxRunningRequests: core.maxRunningRequests,
    chunkedPrefillSize: core.maxTokensPerStep,
    disableRadixCache: !core.enablePrefixCache,
    randomSeed: core.randomSeed,
    logLevel,
    kernels: info.kernels,
    parameters: info.parameters,
    weightBytes: info.weightBytes,
    kvCacheBytes: info.kvCacheBytes,
    internalStates: [stats],
  };
}
