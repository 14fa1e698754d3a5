/**
 * Runs a tensor-parallel group of a fixture model on the cpu: one worker thread per rank (tp-rank-worker.ts), each
 * loading its shard and running every fixture case; resolves with every rank's results.
 */
import { createGroupHandle } from "../../src/runtime/device.js";
import { startModuleWorker } from "../../src/utils/module-worker.js";
import type { FixtureModel } from "./fixtures.js";
import type { CaseRun } from "./tp-cases.js";

export interface RankResult {
  readonly runs: CaseRun[];
  readonly bytesRead: number;
  readonly checkpointBytes: number;
  readonly keptBytes: number;
  readonly kvHeads: number;
}

export async function runRanks(fixture: FixtureModel, layout: string, size: number, quantization?: "fp8"): Promise<RankResult[]> {
  const handle = createGroupHandle("cpu", size, 60_000);
  return Promise.all(Array.from({ length: size }, (_, rank) => new Promise<RankResult>((resolve, reject) => {
    const worker = startModuleWorker(import.meta.url, "tp-rank-worker", { handle, rank, layout, fixture, quantization });
    worker.once("message", (m: RankResult & { error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    worker.once("error", reject);
  })));
}
