/**
 * Rank 0's runner under tensor parallelism: the engine core's runner calls, run here and mirrored to the other ranks
 * (in the order they are made), so every rank prepares and launches the same steps. Rank 0 alone schedules, samples
 * and holds the token histories: each step carries the history tokens its rows read. Anything that fails in a step
 * aborts the group (the other ranks' collectives end with RANK_FAILED too) and surfaces as RANK_FAILED, which
 * brings the engine down: one rank cannot go on without the others.
 */
import type { MessagePort } from "node:worker_threads";
import { IrisError, isIrisError } from "../core/errors.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";
import type { Communicator } from "../runtime/communicator.js";
import type { Tensor } from "../runtime/tensor.js";
import type { ModelRunner } from "../runner/model-runner.js";
import type { RunnerRequestSpec } from "../runner/runner-request.js";
import type { LaunchedStep, PreparedStep, StepEntry, StepResult } from "../runner/runner-step.js";
import type { ToRank } from "./rank-protocol.js";

/** The runner calls the engine core makes: a `ModelRunner`, or rank 0's `LeaderRunner` over one. */
export type StepRunner = Pick<ModelRunner, "addRequest" | "removeRequest" | "setTokenMask" | "prepare" | "launch" | "collect" | "encodeImages">;

export class LeaderRunner implements StepRunner {
  /** Each request's prompt length and token history (the scheduler's, read when a step is sent). */
  private readonly requests = new Map<string, { promptLength: number; history: readonly number[] }>();

  constructor(private readonly runner: ModelRunner, private readonly peers: readonly MessagePort[], private readonly comm: Communicator) {}

  addRequest(spec: RunnerRequestSpec): void {
    const { history, ...rest } = spec;
    this.post({ type: "add", spec: rest });
    this.requests.set(spec.id, { promptLength: spec.inputIds.length, history });
    this.runner.addRequest(spec);
  }

  removeRequest(id: string): void {
    this.post({ type: "remove", id });
    this.requests.delete(id);
    this.runner.removeRequest(id);
  }

  /** Structured output's masks matter to sampling only, which rank 0 alone does. */
  setTokenMask(id: string, mask: Int32Array): void {
    this.runner.setTokenMask(id, mask);
  }

  /** The vision encoder is replicated and runs no collective: rank 0 encodes alone. */
  encodeImages(mm: MultimodalPayload): Tensor {
    return this.runner.encodeImages(mm);
  }

  /** Host work on rank 0 only; the other ranks prepare when the step is launched (failed requests left out). */
  prepare(entries: readonly StepEntry[]): PreparedStep {
    return this.runner.prepare(entries);
  }

  launch(prepared: PreparedStep): LaunchedStep {
    const known = prepared.entries.map((e) => {
      const { promptLength, history } = this.requests.get(e.requestId)!;
      const from = Math.max(e.startPosition, promptLength);
      return history.slice(from, Math.max(from, e.startPosition + e.numTokens));
    });
    this.post({ type: "step", entries: prepared.entries, known });
    return this.fatal(() => this.runner.launch(prepared));
  }

  async collect(launched: LaunchedStep): Promise<StepResult> {
    this.post({ type: "sync" });
    try {
      return await this.comm.watch(this.runner.collect(launched));
    } catch (err) {
      throw this.groupFailure(err);
    }
  }

  private fatal<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.groupFailure(err);
    }
  }

  /** Any failure of a step leaves the ranks out of step: the group is aborted and the error made RANK_FAILED. */
  private groupFailure(err: unknown): IrisError {
    if (isIrisError(err, "RANK_FAILED")) return err;
    const message = `rank 0 failed in a step: ${(err as Error).message}`;
    this.comm.abort(message);
    return new IrisError("RANK_FAILED", `tensor parallelism: ${message}; the engine is down, create it again`);
  }

  private post(message: ToRank): void {
    for (const peer of this.peers) peer.postMessage(message);
  }
}
