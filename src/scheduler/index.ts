export { Scheduler } from "./scheduler.js";
export type { SchedulerOptions } from "./scheduler.js";
export type { NewTokenRatioOptions } from "./new-token-ratio.js";
export type {
  BatchEntry,
  RequestId,
  RequestInfo,
  RequestSpec,
  RequestStatus,
  SampledToken,
  ScheduledBatch,
  SchedulerStats,
} from "./types.js";
