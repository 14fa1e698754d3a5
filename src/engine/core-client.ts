/**
 * The caller's side of the worker thread that runs the `EngineCore`: starts it, routes its outputs to the request
 * that owns them, and turns a crash of the worker into an error for every request still in flight.
 */
import type { MessagePort, Worker } from "node:worker_threads";
import { startModuleWorker } from "../utils/module-worker.js";
import { IrisError } from "../core/errors.js";
import type { HostTensor } from "../core/host-tensor.js";
import type { SchedulerStats } from "../scheduler/types.js";
import type {
  CoreInfo, CoreOptions, CoreOutput, CoreRequest, CoreStart, FlushCacheResult, FromCore, MemoryPlan, MultimodalPayload, ToCore,
} from "./protocol.js";
import { payloadForTransfer, type TransferRule } from "./payload-transfer.js";
import { RankGroup } from "./rank-group.js";

export interface LoadProgressEvent {
  readonly stage: string;
  readonly loaded: number;
  readonly total: number;
}

export interface StartListeners {
  readonly onProgress?: (event: LoadProgressEvent) => void;
  /** The memory the model will take, known before any weight is allocated. */
  readonly onMemoryPlan?: (plan: MemoryPlan) => void;
}

type OutputListener = (output: CoreOutput) => void;
type FailureListener = (error: IrisError) => void;

interface Pending {
  readonly onOutput: OutputListener;
  readonly onFailure: FailureListener;
  /** Its latest output, which a plain one (PlainOutputs) continues. */
  last?: CoreOutput;
}

export class CoreClient {
  private readonly worker: Worker;
  private readonly pending = new Map<string, Pending>();
  /** Questions to the core awaiting their answer (encode, flush, stats), by id. */
  private readonly calls = new Map<number, { resolve: (answer: never) => void; reject: (e: IrisError) => void }>();
  private nextCallId = 0;
  private failure: IrisError | null = null;
  private closed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(worker: Worker, private readonly ranks: RankGroup | null) {
    this.worker = worker;
    this.closedPromise = new Promise((resolve) => worker.once("exit", () => resolve()));
  }

  /** Starts the core and resolves once the model is loaded. */
  static start(options: CoreOptions, listeners: StartListeners = {}): Promise<{ client: CoreClient; info: CoreInfo }> {
    // Tensor parallelism: ranks 1..n-1 on their own threads; a failed one fails the engine and stops rank 0.
    let onRankFailure = (error: IrisError): void => void error;
    const ranks = options.tpSize > 1 ? RankGroup.start(options, (error) => onRankFailure(error)) : null;
    const worker = startModuleWorker(import.meta.url, "./core-worker", { options, tp: ranks?.leader } satisfies CoreStart, ranks?.transfer);
    const client = new CoreClient(worker, ranks?.group ?? null);
    onRankFailure = (error) => {
      client.failAll(error);
      void worker.terminate();
    };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: FromCore) => {
        if (message.type === "progress") listeners.onProgress?.(message);
        else if (message.type === "plan") listeners.onMemoryPlan?.(message.plan);
        else if (message.type === "ready") {
          ready = true;
          resolve({ client, info: message.info });
        } else if (message.type === "failed" && !ready) {
          void worker.terminate();
          reject(IrisError.fromJSON(message.error));
        } else client.handle(message);
      });
      worker.on("error", (err) => {
        const error = err instanceof IrisError ? err : new IrisError("INTERNAL", `the engine core crashed: ${err.message}`, { cause: err });
        if (!ready) reject(error);
        client.failAll(error);
      });
      worker.on("exit", (code) => {
        client.closed = true;
        const error = new IrisError("ENGINE_SHUTDOWN", `the engine core stopped (exit code ${code})`);
        // A failed rank stops rank 0 too: the rank's error is the one to report.
        if (!ready) reject(client.failure ?? error);
        client.failAll(error);
      });
    });
  }

  /** Whether a request with this id is in flight. */
  isRunning(rid: string): boolean {
    return this.pending.has(rid);
  }

  /** `rule`: how the request's image payload travels (payload-transfer.ts); by default cloned whole. */
  submit(request: CoreRequest, onOutput: OutputListener, onFailure: FailureListener, rule?: TransferRule): void {
    this.checkOpen();
    if (this.pending.has(request.rid)) throw new IrisError("INVALID_ARGUMENT", `Duplicate request ID detected: ${request.rid}`);
    this.pending.set(request.rid, { onOutput, onFailure });
    if (request.mm === undefined) return this.send({ type: "add", request });
    const { mm, transfer } = payloadForTransfer(request.mm, rule);
    this.send({ type: "add", request: { ...request, mm } }, transfer);
  }

  abort(rid: string): void {
    if (!this.closed && this.pending.has(rid)) this.send({ type: "abort", rid });
  }

  encode(payload: MultimodalPayload, rule?: TransferRule): Promise<HostTensor> {
    const { mm, transfer } = payloadForTransfer(payload, rule);
    return this.call((id) => ({ type: "encode", id, mm }), transfer);
  }

  flushCache(): Promise<FlushCacheResult> {
    return this.call((id) => ({ type: "flush", id }));
  }

  stats(): Promise<SchedulerStats> {
    return this.call((id) => ({ type: "stats", id }));
  }

  /** Asks the core to stop; resolves once the worker exited. In-flight requests fail with ENGINE_SHUTDOWN. */
  async shutdown(): Promise<void> {
    // The other ranks stop with rank 0: expected now, not a failure.
    const ranksClosed = this.ranks?.close();
    if (!this.closed) {
      this.send({ type: "shutdown" });
      const timer = setTimeout(() => void this.worker.terminate(), 10_000);
      await this.closedPromise;
      clearTimeout(timer);
    }
    await ranksClosed;
    this.failAll(new IrisError("ENGINE_SHUTDOWN", "the engine was shut down before this request finished"));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private handle(message: FromCore): void {
    if (message.type === "outputs") {
      for (const output of message.outputs) {
        const pending = this.pending.get(output.rid);
        if (!pending) continue;
        if (output.finished) this.pending.delete(output.rid);
        pending.last = output;
        pending.onOutput(output);
      }
      const plain = message.plain;
      for (let i = 0; i < (plain?.rids.length ?? 0); i++) {
        const pending = this.pending.get(plain!.rids[i]);
        // The core sends a request's first output in full, so `last` is there for every plain one.
        if (!pending?.last) continue;
        const { rid, promptTokens, completionTokens, cachedTokens, numRetractions } = pending.last;
        pending.last = {
          rid, newTokenIds: [plain!.tokens[i]], finished: false, finishReason: null, promptTokens,
          completionTokens: completionTokens + 1, cachedTokens, numRetractions,
        };
        pending.onOutput(pending.last);
      }
    } else if (message.type === "encoded") {
      if (message.error) this.answer(message.id, undefined, IrisError.fromJSON(message.error));
      else this.answer(message.id, message.embeddings);
    } else if (message.type === "flushed") this.answer(message.id, message.result);
    else if (message.type === "stats") this.answer(message.id, message.stats);
    else if (message.type === "failed") {
      this.failAll(IrisError.fromJSON(message.error));
    }
  }

  private failAll(error: IrisError): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.onFailure(error);
    this.pending.clear();
    for (const waiter of this.calls.values()) waiter.reject(error);
    this.calls.clear();
  }

  private call<T>(message: (id: number) => ToCore, transfer: ArrayBuffer[] = []): Promise<T> {
    this.checkOpen();
    const id = this.nextCallId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (answer: never) => void, reject });
      this.send(message(id), transfer);
    });
  }

  private answer(id: number, value: unknown, error?: IrisError): void {
    const waiter = this.calls.get(id);
    this.calls.delete(id);
    if (error) waiter?.reject(error);
    else waiter?.resolve(value as never);
  }

  private checkOpen(): void {
    if (this.closed || this.failure) {
      throw this.failure ?? new IrisError("ENGINE_SHUTDOWN", "the engine has been shut down");
    }
  }

  /** Hands the core its port to the grammar worker (structured output's matchers). */
  connectGrammar(port: MessagePort): void {
    this.worker.postMessage({ type: "grammar-port", port } satisfies ToCore, [port]);
  }

  /** `transfer`: buffers made for this message alone (payloadForTransfer), moved rather than cloned. */
  private send(message: ToCore, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}
