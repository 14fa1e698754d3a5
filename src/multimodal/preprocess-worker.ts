/**
 * A worker thread of the `ImagePreprocessPool`: builds the model's image processor from its directory, then
 * loads and processes one image per message, sending the pixel values back without a copy. A job may be cancelled
 * (its download or file read stops at once), and, when the engine has a decode budget, waits for the pool's grant
 * before it decodes.
 */
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { loadModelConfig } from "../checkpoint/model-config.js";
import { contentDigest } from "../core/content-digest.js";
import { IrisError } from "../core/errors.js";
import { InlineFeaturizer, type FeatureOutput, type SingleImageProcessor } from "./image-features.js";
import type { ImageInput, LoadImageOptions } from "./image-types.js";
import { Llama4ImageProcessor } from "./llama4-image-processor.js";
import { Qwen2VLImageProcessor } from "./qwen2-vl-image-processor.js";

/** What the pool sends: a job, the cancellation of one, or its grant to decode. */
export type ToPreprocessWorker =
  | { readonly id: number; readonly image: ImageInput; readonly options?: LoadImageOptions; readonly budgeted: boolean; readonly output: FeatureOutput }
  | { readonly cancel: number; readonly reason: { code: IrisError["code"]; message: string } }
  | { readonly grant: number };

const port = parentPort!;
const modelDir = (workerData as { modelDir: string }).modelDir;
const config = loadModelConfig(join(modelDir, "config.json"));
const processor: SingleImageProcessor = config.family === "qwen2_5_vl"
  ? await Qwen2VLImageProcessor.fromPretrained(modelDir)
  : await Llama4ImageProcessor.fromPretrained(modelDir);
const featurizer = new InlineFeaturizer(processor);
const running = new Map<number, AbortController>();
const grants = new Map<number, () => void>();

/** Asks the pool for room in the decode budget and waits for its grant (or the job's cancellation). */
function reserveFromPool(id: number, signal: AbortSignal): (bytes: number) => Promise<void> {
  return (bytes) => new Promise((resolve, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    grants.set(id, resolve);
    port.postMessage({ reserve: id, bytes });
  });
}

async function run(job: Extract<ToPreprocessWorker, { image: ImageInput }>): Promise<void> {
  const controller = new AbortController();
  running.set(job.id, controller);
  try {
    const reserveDecode = job.budgeted ? reserveFromPool(job.id, controller.signal) : undefined;
    const processed = await featurizer.featurize(job.image, { ...job.options, signal: controller.signal, reserveDecode }, job.output);
    // The content key's digest here, one of several workers, rather than on the thread that prepares every request.
    const features = { ...processed, digest: contentDigest(processed.pixel_values.data) };
    const buffer = features.pixel_values.data.buffer;
    port.postMessage({ id: job.id, features }, buffer instanceof ArrayBuffer ? [buffer] : []);
  } catch (err) {
    const error = err instanceof IrisError ? err : new IrisError("IMAGE_LOAD", `processing an image failed: ${(err as Error).message}`);
    port.postMessage({ id: job.id, error: error.toJSON() });
  } finally {
    running.delete(job.id);
    grants.delete(job.id);
  }
}

port.on("message", (message: ToPreprocessWorker) => {
  if ("cancel" in message) running.get(message.cancel)?.abort(IrisError.fromJSON(message.reason));
  else if ("grant" in message) grants.get(message.grant)?.();
  else void run(message);
});
port.postMessage({ ready: true });
