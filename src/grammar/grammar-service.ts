/**
 * The caller's side of the grammar worker: started on the first request with a constraint, it compiles each
 * constraint before the request is queued (a bad one fails that request alone with INVALID_ARGUMENT) and hands
 * the engine core a port to the same worker, where the requests' matchers run.
 */
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { IrisError } from "../core/errors.js";
import type { GrammarSpec } from "../core/sampling-params.js";
import { startModuleWorker } from "../utils/module-worker.js";
import type { FromGrammarWorker, GrammarWorkerData, ToGrammarWorker } from "./grammar-protocol.js";

/** Compiled constraints kept by the worker (each a few MB at most for a 152k vocabulary). */
export const GRAMMAR_CACHE_ENTRIES = 64;

export interface GrammarServiceOptions {
  readonly modelPath: string;
  readonly vocabSize: number;
  readonly stopTokenIds: readonly number[];
  /** Called once with the port the engine core talks to the worker through. */
  readonly connectCore: (port: MessagePort) => void;
}

export class GrammarService {
  private worker: Promise<Worker> | null = null;
  private readonly pending = new Map<number, { resolve: (ms: number) => void; reject: (err: IrisError) => void }>();
  private nextId = 0;

  constructor(private readonly options: GrammarServiceOptions) {}

  /** Compiles (or finds in the cache) a constraint; rejects with INVALID_ARGUMENT naming what is wrong. Resolves to the ms it took. */
  async compile(spec: GrammarSpec): Promise<number> {
    const worker = await this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ type: "compile", id, spec } satisfies ToGrammarWorker);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.then((w) => w.terminate(), () => undefined);
    for (const { reject } of this.pending.values()) reject(new IrisError("ENGINE_SHUTDOWN", "the engine was shut down"));
    this.pending.clear();
  }

  private start(): Promise<Worker> {
    this.worker ??= new Promise((resolve, reject) => {
      const data: GrammarWorkerData = {
        modelPath: this.options.modelPath, vocabSize: this.options.vocabSize, stopTokenIds: this.options.stopTokenIds,
        cacheEntries: GRAMMAR_CACHE_ENTRIES,
      };
      const worker = startModuleWorker(import.meta.url, "./grammar-worker", data);
      // The worker must not keep the process alive on its own: the engine's core worker does that while it runs.
      worker.unref();
      worker.on("message", (message: FromGrammarWorker) => {
        if (message.type === "ready") {
          const channel = new MessageChannel();
          worker.postMessage({ type: "core-port", port: channel.port1 } satisfies ToGrammarWorker, [channel.port1]);
          this.options.connectCore(channel.port2);
          resolve(worker);
        } else if (message.type === "failed") {
          reject(new IrisError(message.error.code, `structured output is unavailable: ${message.error.message}`));
        } else {
          const waiter = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) waiter?.reject(new IrisError(message.error.code, message.error.message));
          else waiter?.resolve(message.ms);
        }
      });
      worker.on("error", (err) => {
        const error = new IrisError("INTERNAL", `the grammar worker failed: ${err.message}`);
        reject(error);
        for (const { reject: fail } of this.pending.values()) fail(error);
        this.pending.clear();
        this.worker = null;
      });
    });
    return this.worker;
  }
}
