/**
 * A rank other than 0 of a tensor-parallel group: it loads its shard of the model and then mirrors rank 0's runner
 * call for call (`rank-protocol.ts`), running the same steps so that its collectives meet rank 0's. It never
 * samples; its token histories hold what rank 0 sends with each step.
 */
import { join } from "node:path";
import { loadGenerationConfig } from "../checkpoint/generation-config.js";
import { loadModelConfig } from "../checkpoint/model-config.js";
import { IrisError } from "../core/errors.js";
import { LOAD_BARRIER_TIMEOUT_MS, type Communicator } from "../runtime/communicator.js";
import { getDevice, joinGroup, type Device } from "../runtime/device.js";
import type { ModelRunner } from "../runner/model-runner.js";
import type { StepEntry } from "../runner/runner-step.js";
import { loadRankRunner, rankDeviceIndex } from "./rank-runner.js";
import type { RankChannel, RankStart, ToRank } from "./rank-protocol.js";

export class RankFollower {
  private runner: ModelRunner | null = null;
  /** Each request's prompt length and token history, as rank 0 sends them. */
  private readonly requests = new Map<string, { promptLength: number; history: number[] }>();
  /** Steps run so far (the failure tests count them). */
  private steps = 0;
  private readonly device: Device;
  private readonly comm: Communicator;
  /** Messages are handled one at a time, in order (a step's forward pass blocks in collectives until rank 0 runs it). */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly start: RankStart, private readonly channel: RankChannel, private readonly onStop: (error: Error | null) => void) {
    this.device = getDevice(start.options.device, rankDeviceIndex(start.options, start.rank));
    this.comm = joinGroup(start.handle, start.rank, this.device);
    channel.onMessage((message) => (this.queue = this.queue.then(() => this.handle(message))));
    // Rank 0 is gone (the engine stopped or crashed): nothing more will come.
    channel.onClose(() => this.stop(null));
  }

  private async handle(message: ToRank): Promise<void> {
    if (this.stopped) return;
    try {
      if (message.type === "init") await this.load(message.numPages);
      else if (message.type === "add") {
        const history = Array.from(message.spec.inputIds);
        this.requests.set(message.spec.id, { promptLength: history.length, history });
        this.loaded().addRequest({ ...message.spec, history });
      } else if (message.type === "remove") {
        this.requests.delete(message.id);
        this.loaded().removeRequest(message.id);
      } else if (message.type === "step") this.step(message.entries, message.known);
      else await this.comm.watch(this.device.synchronize());
    } catch (err) {
      const reason = `rank ${this.start.rank} failed: ${(err as Error).message}`;
      this.comm.abort(reason);
      this.stop(new IrisError("RANK_FAILED", reason));
    }
  }

  private async load(numPages: number): Promise<void> {
    const { options } = this.start;
    const config = loadModelConfig(join(options.modelPath, "config.json"));
    const generation = loadGenerationConfig(options.modelPath);
    const eosTokenIds = [...new Set([...config.text.eosTokenIds, ...generation.eosTokenIds])];
    this.runner = loadRankRunner({ options, config, device: this.device, numPages, eosTokenIds, comm: this.comm });
    // Every rank loaded: rank 0 waits for this before it reports the engine ready.
    await this.comm.barrier(LOAD_BARRIER_TIMEOUT_MS);
  }

  private step(entries: readonly StepEntry[], known: readonly (readonly number[])[]): void {
    const runner = this.loaded();
    this.steps++;
    failForTests(this.start.rank, this.steps);
    entries.forEach((entry, i) => {
      const { promptLength, history } = this.requests.get(entry.requestId)!;
      const from = Math.max(entry.startPosition, promptLength);
      known[i].forEach((token, k) => (history[from + k] = token));
    });
    const prepared = runner.prepare(entries);
    const [failed] = prepared.failures;
    if (failed !== undefined) throw new Error(`the images of request ${failed[0]} failed on this rank, not on rank 0: ${failed[1].message}`);
    runner.launch(prepared);
  }

  private loaded(): ModelRunner {
    if (this.runner === null) throw new Error("a message came before the model was loaded");
    return this.runner;
  }

  private stop(error: Error | null): void {
    if (this.stopped) return;
    this.stopped = true;
    this.channel.close();
    this.comm.destroy();
    this.onStop(error);
  }
}

/**
 * The failure tests' hook: with IRIS_TEST_FAIL_RANK=r:n in the environment, rank r fails before its n-th step
 * (rank 0 is then waiting in that step's first collective).
 */
function failForTests(rank: number, step: number): void {
  const spec = process.env.IRIS_TEST_FAIL_RANK;
  if (spec === undefined) return;
  const [r, n] = spec.split(":").map(Number);
  if (r === rank && n === step) throw new Error(`a failure at step ${step}, as IRIS_TEST_FAIL_RANK asked`);
}
