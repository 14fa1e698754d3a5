/**
 * One submitted request on the caller's side: gathers the core's outputs into the final result, decodes their
 * tokens into text (the core sends ids alone), and hands streamed pieces to a listener as they come.
 */
import { IrisError, type IrisErrorCode } from "../core/errors.js";
import type { FinishReason, GenerateResult, MetaInfo, StreamChunk } from "../core/request.js";
import { LogprobGatherer } from "./logprob-meta.js";
import type { OutputTracker } from "./output-tracker.js";
import type { CoreOutput } from "./protocol.js";

export class RequestHandle {
  private text = "";
  private readonly outputIds: number[] = [];
  private last: CoreOutput | null = null;
  private readonly logprobs = new LogprobGatherer();
  /** The text's side of the request's end, set when the request goes to the core. */
  private tracker: OutputTracker | null = null;
  private settle!: { resolve: (r: GenerateResult) => void; reject: (e: IrisError) => void };
  readonly done: Promise<GenerateResult>;

  constructor(readonly rid: string, readonly index: number, private readonly startedAt: number,
    private readonly onChunk?: (chunk: StreamChunk) => void) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // A batch collects results itself; an unobserved rejection must not crash the process.
    this.done.catch(() => undefined);
  }

  /** Starts decoding the request's tokens: its tracker has the sampling parameters the core follows. */
  follow(tracker: OutputTracker): void {
    this.tracker = tracker;
  }

  /** Takes one output from the core; resolves or rejects `done` on the last one. */
  accept(output: CoreOutput): void {
    const reason = output.finishReason;
    let delta = "";
    for (const token of output.newTokenIds) delta += this.tracker!.push(token).delta;
    // The core's abort leaves text held back (a partial character, a possible stop string's start): it goes out.
    if (reason?.type === "abort") delta += this.tracker!.abort(reason.message, reason.code).delta;
    this.text += delta;
    this.outputIds.push(...output.newTokenIds);
    this.last = output;
    this.logprobs.accept(output);
    if (delta || output.newTokenIds.length || reason) {
      this.onChunk?.({ delta, text: this.text, outputIds: [...this.outputIds], index: this.index, metaInfo: this.meta(reason) });
    }
    if (!reason) return;
    if (reason.type === "abort") this.settle.reject(new IrisError((reason.code ?? "ABORTED") as IrisErrorCode, reason.message));
    else this.settle.resolve(this.result(reason));
  }

  /** Fails the request before or outside the core (bad input, a crashed core). */
  fail(error: IrisError): void {
    this.onChunk?.({ delta: "", text: this.text, outputIds: [...this.outputIds], index: this.index,
      metaInfo: this.meta({ type: "abort", message: error.message, code: error.code }) });
    this.settle.reject(error);
  }

  /** The result for a failed request inside a batch: empty output, the error as the abort reason. */
  static failedResult(rid: string, error: IrisError, promptTokens = 0): GenerateResult {
    return {
      text: "",
      outputIds: [],
      metaInfo: {
        id: rid, promptTokens, completionTokens: 0, cachedTokens: 0, e2eLatency: 0, numRetractions: 0,
        finishReason: { type: "abort", message: error.message, code: error.code },
      },
    };
  }

  private result(reason: FinishReason): GenerateResult {
    return { text: this.text, outputIds: [...this.outputIds], metaInfo: this.meta(reason) };
  }

  private meta(reason: FinishReason | null): MetaInfo {
    const last = this.last;
    return {
      id: this.rid,
      promptTokens: last?.promptTokens ?? 0,
      completionTokens: last?.completionTokens ?? this.outputIds.length,
      cachedTokens: last?.cachedTokens ?? 0,
      finishReason: reason,
      e2eLatency: (performance.now() - this.startedAt) / 1000,
      numRetractions: last?.numRetractions ?? 0,
      ...this.logprobs.meta(),
    };
  }
}
