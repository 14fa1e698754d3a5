/**
 * Image loading and preprocessing on worker threads, so a batch of pictures is decoded and resized on several
 * cores while the caller's thread stays free (SGLang's multimodal processor workers). Images go to the worker
 * with the fewest jobs; each job is one image.
 */
import type { Worker } from "node:worker_threads";
import { IrisError, type IrisErrorCode } from "../core/errors.js";
import { startModuleWorker } from "../utils/module-worker.js";
import type { ImageFeatures, ImageFeaturizer } from "./image-features.js";
import type { ImageInput, LoadImageOptions } from "./image-types.js";

interface PoolWorker {
  readonly worker: Worker;
  jobs: number;
}

type Reply =
  | { ready: true }
  | { id: number; features?: ImageFeatures; error?: { code: IrisErrorCode; message: string } };

export class ImagePreprocessPool implements ImageFeaturizer {
  private readonly waiting = new Map<number, { resolve: (f: ImageFeatures) => void; reject: (e: Error) => void; worker: PoolWorker }>();
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

  featurize(image: ImageInput, options?: LoadImageOptions): Promise<ImageFeatures> {
    if (this.closed) return Promise.reject(new IrisError("ENGINE_SHUTDOWN", "the image workers were shut down"));
    if (this.workers.length === 0) return Promise.reject(new IrisError("INTERNAL", "every image worker has failed; restart the engine"));
    const entry = this.workers.reduce((a, b) => (b.jobs < a.jobs ? b : a));
    const id = this.nextId++;
    entry.jobs++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, worker: entry });
      entry.worker.postMessage({ id, image, options });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
    for (const job of this.waiting.values()) job.reject(new IrisError("ENGINE_SHUTDOWN", "the image workers were shut down"));
    this.waiting.clear();
  }

  private onReply(entry: PoolWorker, reply: Reply): void {
    if ("ready" in reply) return;
    const job = this.waiting.get(reply.id);
    if (!job) return;
    this.waiting.delete(reply.id);
    entry.jobs--;
    if (reply.error) job.reject(IrisError.fromJSON(reply.error));
    else job.resolve(reply.features!);
  }

  /** A worker that failed or stopped leaves the pool; its jobs fail, later ones go to the others. */
  private failWorker(entry: PoolWorker, error: IrisError): void {
    const index = this.workers.indexOf(entry);
    if (index >= 0) this.workers.splice(index, 1);
    for (const [id, job] of this.waiting) {
      if (job.worker !== entry) continue;
      this.waiting.delete(id);
      job.reject(error);
    }
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
