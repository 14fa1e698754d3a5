/**
 * Messages from rank 0's engine core to the other ranks of a tensor-parallel group (structured clone: plain objects
 * and typed arrays). Rank 0 alone schedules; the others mirror its runner, call for call in the same order, so
 * every rank runs the same forward passes (and so the same collectives).
 */
import type { MessagePort } from "node:worker_threads";
import type { GroupHandle } from "../runtime/communicator.js";
import type { StepEntry } from "../runner/runner-step.js";
import type { RunnerRequestSpec } from "../runner/runner-request.js";
import type { CoreOptions } from "./protocol.js";

/** What a rank's thread starts with (its worker data). */
export interface RankStart {
  readonly options: CoreOptions;
  readonly rank: number;
  readonly handle: GroupHandle;
}

/** What rank 0's engine core gets besides its options: the group, and a port to each other rank (rank 1 first). */
export interface LeaderStart {
  readonly handle: GroupHandle;
  readonly peers: readonly MessagePort[];
}

export type ToRank =
  /** The KV cache's size, which rank 0 decides (on cuda from its GPU's free memory). */
  | { readonly type: "init"; readonly numPages: number }
  /** A request joins (its token history is mirrored through `step`'s `known`). */
  | { readonly type: "add"; readonly spec: Omit<RunnerRequestSpec, "history"> }
  | { readonly type: "remove"; readonly id: string }
  /**
   * One step: the entries that run, and for each entry the generated tokens its rows read from the request's history
   * on rank 0 (positions max(start, prompt length) .. start + count - 1; the newest may be a placeholder that the
   * step takes from the previous step's tokens on the device instead).
   */
  | { readonly type: "step"; readonly entries: readonly StepEntry[]; readonly known: readonly (readonly number[])[] }
  /** Rank 0 collected a step: the rank waits for its own device too, so a failure shows up step by step. */
  | { readonly type: "sync" };

/** From a rank other than 0 to the engine's thread. */
export type FromRank = { readonly type: "failed"; readonly message: string };

/**
 * How a rank other than 0 hears from rank 0: a MessagePort (a rank on a worker thread, cpu) or its process's IPC
 * channel, relayed by the engine's thread (a rank in its own process, cuda: the addon drives one device per process).
 */
export interface RankChannel {
  onMessage(listener: (message: ToRank) => void): void;
  /** Rank 0 is gone: nothing more will come. */
  onClose(listener: () => void): void;
  close(): void;
}

export function portChannel(port: MessagePort): RankChannel {
  return {
    onMessage: (listener) => port.on("message", listener),
    onClose: (listener) => port.on("close", listener),
    close: () => port.close(),
  };
}
