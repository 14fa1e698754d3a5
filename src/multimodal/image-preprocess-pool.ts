/**
 * Image loading and preprocessing on worker threads, so a batch of pictures is decoded and resized on several
 * cores while the caller's thread stays free (SGLang's multimodal processor workers). Images go to the worker
 * with the fewest jobs; each job is one image. A job whose signal aborts rejects at once and is cancelled in its
 * worker; its slot and its share of the decode budget are held until the worker confirms it stopped.
 */
import type { Worker } from "node:worker_threads";
import { IrisError, type IrisErrorCode } from "../core/errors.js";
import { startModuleWorker } from "../utils/module-worker.js";
import type { DecodeLease } from "./decode-budget.js";
import type { FeatureOutput, ImageFeatures, ImageFeaturizer } from "./image-features.js";
import type { ImageInput, ImageLoadRequest } from "./image-types.js";
import type { ToPreprocessWorker } from "./preprocess-worker.js";

interface PoolWorker {
  readonly worker: Worker;
  jobs: number;
}

interface Job {
  readonly worker: PoolWorker;
  readonly resolve: (f: ImageFeatures) => void;
  readonly reject: (e: Error) => void;
  readonly lease: DecodeLease | undefined;
  /** Aborts this job's wait for the decode budget on the pool's side. */
  readonly stop: AbortController;
  settled: boolean;
}

type Reply =
  | { ready: true }
  | { reserve: number; bytes: number }
  | { id: number; features?: ImageFeatures; error?: { code: IrisErrorCode; message: string } };

const shutDown = () => new IrisError("ENGINE_SHUTDOWN", "the image workers were shut down");

export class ImagePreprocessPool implements ImageFeaturizer {
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private closed = false;

  private constructor(private readonly workers: PoolWorker[]) {
    for (const entry of workers) {
      entry.worker.on("message", (reply: Reply) => this.onReply(entry, reply));
      entry.worker.on("error", (err) => this.failWorker(entry, new IrisError("INTERNAL", `an image worker failed: ${err.message}`)));
      entry.worker.on("exit", (code) => this.failWorker(entry, new IrisError("INTERNAL", `an image worker stopped (exit code ${code})`)));
    }
  }

  /** Starts `size` workers for the model in `modelDir`; resolves once each has built its image processor. */
  static async start(modelDir: string, size: number): Promise<ImagePreprocessPool> {
    const workers = Array.from({ length: size }, () => ({ worker: startModuleWorker(import.meta.url, "./preprocess-worker", { modelDir }), jobs: 0 }));
    try {
      await Promise.all(workers.map(({ worker }) => readiness(worker)));
    } catch (err) {
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
      throw err instanceof IrisError ? err : new IrisError("MODEL_LOAD", `the image workers could not start: ${(err as Error).message}`);
    }
    return new ImagePreprocessPool(workers);
  }

  featurize(image: ImageInput, request: ImageLoadRequest = {}, output: FeatureOutput = "patches"): Promise<ImageFeatures> {
    if (this.closed) return Promise.reject(shutDown());
    if (this.workers.length === 0) return Promise.reject(new IrisError("INTERNAL", "every image worker has failed; restart the engine"));
    const { signal, decodeBudget, reserveDecode: _unused, shared: _local, ...options } = request;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const entry = this.workers.reduce((a, b) => (b.jobs < a.jobs ? b : a));
    const id = this.nextId++;
    entry.jobs++;
    return new Promise((resolve, reject) => {
      const job: Job = { worker: entry, resolve, reject, lease: decodeBudget?.lease(), stop: new AbortController(), settled: false };
      this.jobs.set(id, job);
      signal?.addEventListener("abort", () => this.cancel(id, signal.reason as Error), { once: true });
      this.send(entry, { id, image, options, budgeted: job.lease !== undefined, output });
    });
  }

  /** Rejects every job with ENGINE_SHUTDOWN at once, then stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [id, job] of this.jobs) this.finish(id, job, shutDown());
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  /** The caller gets `reason` now; the worker stops the job and its reply then frees the slot. */
  private cancel(id: number, reason: Error): void {
    const job = this.jobs.get(id);
    if (!job || job.settled) return;
    job.settled = true;
    job.stop.abort(reason);
    job.reject(reason);
    const wire = reason instanceof IrisError ? reason.toJSON() : { code: "ABORTED" as const, message: reason.message };
    this.send(job.worker, { cancel: id, reason: wire });
  }

  private onReply(entry: PoolWorker, reply: Reply): void {
    if ("ready" in reply) return;
    if ("reserve" in reply) {
      const job = this.jobs.get(reply.reserve);
      if (!job?.lease) return;
      job.lease.reserve(reply.bytes, job.stop.signal).then(() => this.send(entry, { grant: reply.reserve }), () => undefined);
      return;
    }
    const job = this.jobs.get(reply.id);
    if (!job) return;
    this.finish(reply.id, job, reply.error ? IrisError.fromJSON(reply.error) : reply.features!);
  }

  private finish(id: number, job: Job, outcome: ImageFeatures | Error): void {
    this.jobs.delete(id);
    job.worker.jobs--;
    job.lease?.release();
    if (job.settled) return;
    job.settled = true;
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome);
  }

  /** A worker that failed or stopped leaves the pool; its jobs fail, later ones go to the others. */
  private failWorker(entry: PoolWorker, error: IrisError): void {
    const index = this.workers.indexOf(entry);
    if (index >= 0) this.workers.splice(index, 1);
    for (const [id, job] of this.jobs) if (job.worker === entry) this.finish(id, job, error);
  }

  private send(entry: PoolWorker, message: ToPreprocessWorker): void {
    entry.worker.postMessage(message);
  }
}

/** Resolves on the worker's first message (it is ready), rejects if it fails or exits first. */
function readiness(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    // NOTE: only these listeners may be removed: the Worker keeps internal ones that start its message port.
    const done = (error?: Error) => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = () => done();
    const onError = (err: Error) => done(err);
    const onExit = (code: number) => done(new IrisError("INTERNAL", `an image worker stopped while starting (exit code ${code})`));
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
  });
}
