/**
 * One HTTP request's generation: the engine's stream of chunks, whatever the endpoint and whether the client streams
 * or not, so aborting, metrics and errors have one path. Its rids are known up front, so a client that disconnects
 * aborts exactly its own engine requests (the engine frees their KV pages), and its first chunk is awaited before any
 * byte is sent, so a request that fails before its first token (a broken image, a prompt too long) gets its HTTP
 * status instead of a 200 stream that carries an error.
 */
import { randomUUID } from "node:crypto";
import { IrisError, type IrisErrorCode } from "../core/errors.js";
import type { GenerateRequest, StreamChunk } from "../core/request.js";
import type { Engine } from "../engine/engine.js";
import type { ServerMetrics } from "./metrics.js";

/** The last chunk of each engine request (its whole text, ids and metaInfo), in index order. */
export type FinalChunks = StreamChunk[];

export class Generation {
  /** The engine's rid of each output, by index (prompt i, sample j at i * n + j). */
  readonly rids: readonly string[];
  /** The id the response carries (OpenAI's `id`); the rids derive from it. */
  readonly id: string;
  private readonly iterator: AsyncIterator<StreamChunk>;
  private readonly lastAt = new Map<number, number>();
  private cancelled = false;

  /**
   * Starts `request` (without `rid`: the generation names its requests) for `prompts` prompts of `n` samples each;
   * `startedAt` is the request's arrival (performance.now()), for time to first token.
   */
  constructor(private readonly engine: Engine, request: GenerateRequest, prompts: number | "single", n: number,
    private readonly metrics: ServerMetrics, private readonly startedAt: number, idPrefix: string) {
    const base = `${idPrefix}-${randomUUID().replaceAll("-", "")}`;
    this.id = base;
    const promptRids = prompts === "single" ? [base] : Array.from({ length: prompts }, (_, i) => `${base}-${i}`);
    this.rids = promptRids.flatMap((rid) => (n === 1 ? [rid] : Array.from({ length: n }, (_, j) => `${rid}_${j}`)));
    const rid = prompts === "single" ? promptRids[0] : promptRids;
    this.iterator = engine.generateStream({ ...request, rid })[Symbol.asyncIterator]();
  }

  /**
   * The first chunk, or the error that ended the request before it produced one (thrown as an `IrisError`).
   * Undefined when the engine produced nothing at all.
   */
  async first(strict = true): Promise<StreamChunk | undefined> {
    const next = await this.iterator.next();
    if (next.done) return undefined;
    this.observe(next.value);
    const error = strict ? failureOf(next.value) : undefined;
    if (error) {
      // A preparation failure fails every sample; any still going are ended with it.
      this.abort(false);
      throw error;
    }
    return next.value;
  }

  /** The chunks after `first()`, in the order the engine produced them. */
  async *rest(): AsyncGenerator<StreamChunk> {
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return;
      this.observe(next.value);
      yield next.value;
    }
  }

  /**
   * Runs to the end and returns the final chunk of every output; a failed output throws its error, unless
   * `keepFailures` (a batch of SGLang's /generate, where a failed prompt's result carries its abort reason).
   */
  async collect(keepFailures = false): Promise<FinalChunks> {
    const finals = new Map<number, StreamChunk>();
    const first = await this.first(!keepFailures);
    if (first) finals.set(first.index, first);
    for await (const chunk of this.rest()) finals.set(chunk.index, chunk);
    const ordered = [...finals.values()].sort((a, b) => a.index - b.index);
    if (!keepFailures) for (const chunk of ordered) throwIfFailed(chunk);
    return ordered;
  }

  /**
   * Ends every engine request of this generation: the client went away (`byClient`: nothing more is sent, the
   * request counts as cancelled), or the server's drain deadline passed (the client is told with an error).
   */
  abort(byClient = true): void {
    if (byClient) this.cancelled = true;
    for (const rid of this.rids) this.engine.abort(rid);
  }

  get wasCancelled(): boolean {
    return this.cancelled;
  }

  /** Time to first token, inter-token gaps, and the tokens of each output that finished normally. */
  private observe(chunk: StreamChunk): void {
    const now = performance.now();
    const previous = this.lastAt.get(chunk.index);
    if (chunk.outputIds.length > 0 && previous === undefined) this.metrics.firstToken((now - this.startedAt) / 1000);
    else if (previous !== undefined && chunk.delta !== "") this.metrics.interToken((now - previous) / 1000);
    if (chunk.outputIds.length > 0) this.lastAt.set(chunk.index, now);
    const finish = chunk.metaInfo.finishReason;
    if (finish && finish.type !== "abort") {
      const m = chunk.metaInfo;
      this.metrics.tokens(m.promptTokens, m.cachedTokens, m.completionTokens);
      this.metrics.finished((now - this.startedAt) / 1000);
    }
  }
}

/** The error an output ended with, if it was aborted (a failed request, a cancelled one, a stopped engine). */
export function failureOf(chunk: StreamChunk): IrisError | undefined {
  const finish = chunk.metaInfo.finishReason;
  if (finish?.type !== "abort") return undefined;
  return new IrisError((finish.code ?? "ABORTED") as IrisErrorCode, finish.message);
}

export function throwIfFailed(chunk: StreamChunk): void {
  const error = failureOf(chunk);
  if (error) throw error;
}
