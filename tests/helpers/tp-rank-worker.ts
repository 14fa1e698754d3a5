/**
 * One rank of a tensor-parallel group in a worker thread, for the model tests: joins the group, loads its shard of a
 * fixture model, runs every fixture case and posts what it computed (and how much of the checkpoint it read).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { GroupHandle } from "../../src/runtime/communicator.js";
import { cpuDevice, joinGroup } from "../../src/runtime/device.js";
import type { FixtureModel } from "./fixtures.js";
import { loadFixtureModel } from "./model-harness.js";
import { runFixtureCases } from "./tp-cases.js";

export interface RankJob {
  readonly handle: GroupHandle;
  readonly rank: number;
  readonly layout: string;
  readonly fixture: FixtureModel;
  /** "fp8": the shard's decoder matrices quantized while loading. */
  readonly quantization?: "fp8";
}

const job = workerData as RankJob;
const comm = joinGroup(job.handle, job.rank, cpuDevice());
try {
  const { model, bytesRead, checkpointBytes } = loadFixtureModel(job.layout, cpuDevice(), comm, job.quantization ?? null);
  // What this rank keeps, by its parameters' sources: the checkpoint bytes it should have read.
  const keptBytes = model.parameters.all().reduce((sum, p) => sum + p.sources.reduce((n, s) => n + (p.tensor.numel / p.tensor.shape[s.dim]) * s.rows, 0), 0) * 2;
  const runs = await runFixtureCases(model, job.fixture);
  parentPort!.postMessage({ runs, bytesRead, checkpointBytes, keptBytes, kvHeads: model.kvHeads });
} catch (err) {
  comm.abort(`rank ${job.rank} failed: ${(err as Error).message}`);
  parentPort!.postMessage({ error: (err as Error).stack ?? String(err) });
}
