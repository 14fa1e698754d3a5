/**
 * The engine thread's side of a tensor-parallel group: starts ranks 1..n-1 (rank 0 is the engine core's own
 * thread), each with a channel from rank 0, and watches them. On cpu a rank is a worker thread holding its end of a
 * MessagePort; on cuda a process of its own (the addon drives one device per process), whose IPC channel this
 * thread feeds with what rank 0 posts on the port. A rank that fails, crashes or exits early aborts the group
 * (rank 0's collectives then end with RANK_FAILED instead of waiting) and is reported to the engine, which fails
 * every request and refuses new ones: one rank cannot go on without the others.
 */
import type { ChildProcess } from "node:child_process";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { IrisError } from "../core/errors.js";
import type { GroupHandle } from "../runtime/communicator.js";
import { createGroupHandle } from "../runtime/device.js";
import { GroupState } from "../runtime/group-state.js";
import { startModuleProcess } from "../utils/module-process.js";
import { startModuleWorker } from "../utils/module-worker.js";
import type { CoreOptions } from "./protocol.js";
import type { FromRank, LeaderStart, RankStart, ToRank } from "./rank-protocol.js";

export class RankGroup {
  /** How to end each rank that does not stop by itself. */
  private readonly stoppers: (() => void)[] = [];
  private readonly exited: Promise<void>[] = [];
  private closing = false;
  private failed = false;

  private constructor(private readonly handle: GroupHandle, private readonly onFailure: (error: IrisError) => void) {}

  /** Starts ranks 1..tpSize-1; `leader` goes to rank 0's engine core, with `transfer` in the worker's transfer list. */
  static start(options: CoreOptions, onFailure: (error: IrisError) => void): { group: RankGroup; leader: LeaderStart; transfer: MessagePort[] } {
    const handle = createGroupHandle(options.device, options.tpSize);
    const group = new RankGroup(handle, onFailure);
    const peers: MessagePort[] = [];
    for (let rank = 1; rank < options.tpSize; rank++) {
      const { port1, port2 } = new MessageChannel();
      peers.push(port1);
      if (handle.kind === "cpu") {
        const worker = startModuleWorker(import.meta.url, "./rank-worker", { options, rank, handle, leader: port2 }, [port2]);
        group.watch(worker, rank, () => void worker.terminate());
      } else {
        const child = startRankProcess({ options, rank, handle }, port2);
        group.watch(child, rank, () => child.kill());
      }
    }
    return { group, leader: { handle, peers }, transfer: peers };
  }

  /** Called once rank 0 stopped: the other ranks follow (their port to it closed); stragglers are terminated. */
  async close(): Promise<void> {
    this.closing = true;
    const timer = setTimeout(() => this.stoppers.forEach((stop) => stop()), 10_000);
    await Promise.all(this.exited);
    clearTimeout(timer);
  }

  private watch(worker: Worker | ChildProcess, rank: number, stop: () => void): void {
    this.stoppers.push(stop);
    this.exited.push(new Promise((resolve) => worker.once("exit", () => resolve())));
    worker.on("message", (message: FromRank) => this.fail(message.message));
    worker.on("error", (err) => this.fail(`rank ${rank} crashed: ${err.message}`));
    worker.on("exit", (code) => {
      if (!this.closing) this.fail(`rank ${rank} stopped (exit code ${code})`);
    });
  }

  private fail(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    // On cpu the ranks share memory with this thread: waking rank 0 out of a collective needs no timeout.
    if (this.handle.kind === "cpu") new GroupState(this.handle.shared, this.handle.size, this.handle.timeoutMs, -1).abort(reason);
    this.onFailure(new IrisError("RANK_FAILED", `tensor parallelism: ${reason}; the engine is down, create it again`));
  }
}

/** A rank in its own process: what rank 0 posts on `port` is relayed to it, and its channel closes with the port. */
function startRankProcess(start: RankStart, port: MessagePort): ChildProcess {
  // NVLink multicast stays off in every process started (NCCL reads it at communicator creation).
  const child = startModuleProcess(import.meta.url, "./rank-process", { ...process.env, NCCL_NVLS_ENABLE: "0" });
  child.send({ type: "start", start });
  port.on("message", (message: ToRank) => child.connected && child.send(message));
  port.on("close", () => child.connected && child.disconnect());
  return child;
}
