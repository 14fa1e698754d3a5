/**
 * Turning raw images into a processor's features, image by image, and merging several images' features in
 * order. Each image is independent (its own resize, tiles or patches), so images can be processed on any thread
 * and concatenated afterwards; the result equals processing them together.
 */
import { IrisError } from "../core/errors.js";
import { concatHostTensors, int64Tensor, type HostTensor } from "../core/host-tensor.js";
import { loadImage } from "./image-input.js";
import type { ImageInput, ImageLoadRequest } from "./image-types.js";
import type { GridThw } from "./qwen2-vl-image-processor.js";

/**
 * What a featurizer gives for one image: the processor's features (`patches`), or, for a device that resizes and
 * patchifies (Qwen2-VL only), the decoded picture's 8-bit RGB bytes at its source size with the grid it is resized
 * to there (`rgb8`: U8 [height * width * 3], `sourceSize`).
 */
export type FeatureOutput = "patches" | "rgb8";

/** One image's features: Qwen2-VL's patches (or 8-bit source pixels) and grid, or Llama 4's tiles and tile grid. */
export interface ImageFeatures {
  readonly pixel_values: HostTensor;
  readonly grid?: GridThw;
  readonly aspectRatio?: readonly [number, number];
  /** `rgb8` only: [width, height] of the picture `pixel_values` holds (as decoded, before any resize). */
  readonly sourceSize?: readonly [number, number];
  /** `pixel_values`' bytes' digest (core/content-digest.ts), where an image worker computed it beside the processing. */
  readonly digest?: Uint8Array;
}

/** Anything that processes one decoded image: both image processors, through their `preprocess`. */
export interface SingleImageProcessor {
  preprocessOne(image: Awaited<ReturnType<typeof loadImage>>): ImageFeatures;
  /** The `rgb8` output, where the processor has one. */
  rgb8One?(image: Awaited<ReturnType<typeof loadImage>>): ImageFeatures;
}

/** Loads and processes images, on this thread or elsewhere (see `ImagePreprocessPool`). */
export interface ImageFeaturizer {
  featurize(image: ImageInput, options?: ImageLoadRequest, output?: FeatureOutput): Promise<ImageFeatures>;
}

export class InlineFeaturizer implements ImageFeaturizer {
  constructor(private readonly processor: SingleImageProcessor) {}

  /** Loads and processes one image under a lease on the decode budget (when one is given), held until it is processed. */
  async featurize(image: ImageInput, options: ImageLoadRequest = {}, output: FeatureOutput = "patches"): Promise<ImageFeatures> {
    const lease = options.decodeBudget?.lease();
    try {
      const reserveDecode = lease ? (bytes: number) => lease.reserve(bytes, options.signal) : options.reserveDecode;
      const decoded = await loadImage(image, { ...options, reserveDecode });
      if (options.signal?.aborted) throw options.signal.reason;
      if (output === "patches") return this.processor.preprocessOne(decoded);
      if (!this.processor.rgb8One) throw new IrisError("INTERNAL", "internal error: this processor has no 8-bit output");
      return this.processor.rgb8One(decoded);
    } finally {
      lease?.release();
    }
  }
}

/** Several images' features in order: pixel values concatenated, grids or tile grids listed. */
export interface MergedImageFeatures {
  readonly pixel_values: HostTensor;
  readonly grids: readonly GridThw[];
  /** Qwen2.5-VL: I64 [images, 3]. */
  readonly image_grid_thw?: HostTensor;
  readonly aspectRatios: readonly (readonly [number, number])[];
  /** `rgb8`: [width, height] of each picture, in order. */
  readonly sourceSizes: readonly (readonly [number, number])[];
  /** Each image's bytes' digest, in order, where every image came with one (from the image workers). */
  readonly digests?: readonly Uint8Array[];
}

export function mergeImageFeatures(features: readonly ImageFeatures[]): MergedImageFeatures {
  const grids = features.flatMap((f) => (f.grid ? [f.grid] : []));
  return {
    pixel_values: concatHostTensors(features.map((f) => f.pixel_values), "pixel_values"),
    grids,
    image_grid_thw: grids.length ? int64Tensor([grids.length, 3], grids.flat()) : undefined,
    aspectRatios: features.flatMap((f) => (f.aspectRatio ? [f.aspectRatio] : [])),
    sourceSizes: features.flatMap((f) => (f.sourceSize ? [f.sourceSize] : [])),
    ...(features.every((f) => f.digest !== undefined) ? { digests: features.map((f) => f.digest!) } : {}),
  };
}
