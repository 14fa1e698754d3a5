/**
 * A worker thread of the `ImagePreprocessPool`: builds the model's image processor from its directory, then
 * loads and processes one image per message, sending the pixel values back without a copy.
 */
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { loadModelConfig } from "../checkpoint/model-config.js";
import { IrisError } from "../core/errors.js";
import { InlineFeaturizer, type SingleImageProcessor } from "./image-features.js";
import type { ImageInput, LoadImageOptions } from "./image-types.js";
import { Llama4ImageProcessor } from "./llama4-image-processor.js";
import { Qwen2VLImageProcessor } from "./qwen2-vl-image-processor.js";

interface Job {
  readonly id: number;
  readonly image: ImageInput;
  readonly options?: LoadImageOptions;
}

const port = parentPort!;
const modelDir = (workerData as { modelDir: string }).modelDir;
const config = loadModelConfig(join(modelDir, "config.json"));
const processor: SingleImageProcessor = config.family === "qwen2_5_vl"
  ? await Qwen2VLImageProcessor.fromPretrained(modelDir)
  : await Llama4ImageProcessor.fromPretrained(modelDir);
const featurizer = new InlineFeaturizer(processor);

port.on("message", async (job: Job) => {
  try {
    const features = await featurizer.featurize(job.image, job.options);
    const buffer = features.pixel_values.data.buffer;
    port.postMessage({ id: job.id, features }, buffer instanceof ArrayBuffer ? [buffer] : []);
  } catch (err) {
    const error = err instanceof IrisError ? err : new IrisError("IMAGE_LOAD", `processing an image failed: ${(err as Error).message}`);
    port.postMessage({ id: job.id, error: error.toJSON() });
  }
});
port.postMessage({ ready: true });
