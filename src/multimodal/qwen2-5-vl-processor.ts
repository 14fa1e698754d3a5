/**
 * The Qwen2.5-VL processor: a rendered prompt and its images in, `input_ids`, `pixel_values` and `image_grid_thw`
 * out, as transformers' `Qwen2_5_VLProcessor` produces them. Each `<|image_pad|>` of the prompt becomes
 * `prod(grid_thw) / merge_size^2` copies of itself (the vision tower's output tokens for that image), then the text
 * is tokenized once. `<|vision_start|>` / `<|vision_end|>` come from the chat template, not from here.
 */
import { idsTensor, type HostTensor, type HostTensor1D } from "../core/host-tensor.js";
import { checkPlaceholderCount, countOccurrences, countTokenRuns, expandImageTokenIds, replacePlaceholders } from "./image-placeholders.js";
import { featurizeOnce } from "./shared-images.js";
import { InlineFeaturizer, mergeImageFeatures, type FeatureOutput, type ImageFeaturizer, type MergedImageFeatures } from "./image-features.js";
import type { ImageInput, ImageLoadRequest, ProcessorRequest } from "./image-types.js";
import { encodeExpanded, requireTokenId, type ProcessorTokenizer } from "./processor-tokenizer.js";
import { Qwen2VLImageProcessor, type GridThw } from "./qwen2-vl-image-processor.js";

export interface Qwen2_5VLProcessorOutput {
  /** I64 [L]. */
  readonly input_ids: HostTensor1D;
  /** F32 [patches, 1176]; absent without images. */
  readonly pixel_values?: HostTensor;
  /** I64 [images, 3]; absent without images. */
  readonly image_grid_thw?: HostTensor;
  /** The grids as plain numbers, in image order. */
  readonly grids: readonly GridThw[];
  /** With output "rgb8": [width, height] of each picture `pixel_values` holds, in image order. */
  readonly sourceSizes?: readonly (readonly [number, number])[];
  /** Each image's bytes' digest, where the image workers processed them (Iris's engine keys images with them). */
  readonly digests?: readonly Uint8Array[];
}

export class Qwen2_5VLProcessor {
  readonly tokenizer: ProcessorTokenizer;
  readonly imageProcessor: Qwen2VLImageProcessor;
  readonly imageTokenId: number;
  private readonly featurizer: ImageFeaturizer;

  /** @param featurizer where images are loaded and processed (default: on this thread) */
  constructor(tokenizer: ProcessorTokenizer, imageProcessor: Qwen2VLImageProcessor, featurizer?: ImageFeaturizer) {
    this.tokenizer = tokenizer;
    this.imageProcessor = imageProcessor;
    this.featurizer = featurizer ?? new InlineFeaturizer(imageProcessor);
    this.imageTokenId = requireTokenId(tokenizer, imageProcessor.config.imageToken);
  }

  static async fromPretrained(modelDir: string, tokenizer: ProcessorTokenizer, featurizer?: ImageFeaturizer): Promise<Qwen2_5VLProcessor> {
    return new Qwen2_5VLProcessor(tokenizer, await Qwen2VLImageProcessor.fromPretrained(modelDir), featurizer);
  }

  /**
   * Loads and processes the images (each on the featurizer's thread), merged in order; with `output` "rgb8" the
   * pixel values are the pictures' bytes at their source sizes (`sourceSizes`; a device resizes them to their grids
   * and patchifies them) instead of patches.
   */
  async features(images: readonly ImageInput[], options?: ImageLoadRequest, output: FeatureOutput = "patches"): Promise<MergedImageFeatures> {
    return mergeImageFeatures(await Promise.all(images.map((image) => featurizeOnce(this.featurizer, image, options, output))));
  }

  get imageToken(): string {
    return this.imageProcessor.config.imageToken;
  }

  /** @param output "rgb8": `pixel_values` are the pictures' source bytes, U8 (see `features`); Iris's engine only. */
  async process(request: ProcessorRequest, output: FeatureOutput = "patches"): Promise<Qwen2_5VLProcessorOutput> {
    const { ids, ...features } = await this.processToIds(request, output);
    return { input_ids: idsTensor(ids), ...features };
  }

  /**
   * `process` with the prompt's ids as numbers, as Iris's engine takes them: no I64 tensor made and read back
   * (~0.08 ms a request on the thread that prepares every request, H200 profile of 512 requests).
   */
  async processToIds(request: ProcessorRequest, output: FeatureOutput = "patches"): Promise<Omit<Qwen2_5VLProcessorOutput, "input_ids"> & { readonly ids: readonly number[] }> {
    const images = request.images ?? [];
    // Check the placeholders before any image is downloaded or decoded.
    checkPlaceholderCount(countOccurrences(request.text, this.imageToken), images.length, this.imageToken);
    if (images.length === 0) return { ids: await this.encode(request.text, 0), grids: [] };
    const { pixel_values, image_grid_thw, grids, sourceSizes, digests } = await this.features(images, request.imageOptions, output);
    const features = { pixel_values, image_grid_thw: image_grid_thw!, grids, ...(output === "rgb8" ? { sourceSizes } : {}), ...(digests ? { digests } : {}) };
    const counts = features.grids.map((grid) => this.imageProcessor.tokensForGrid(grid));
    return { ids: await this.encodeWithImages(request.text, counts), ...features };
  }

  /**
   * For a prompt given as token ids with one `<|image_pad|>` id (or one run of them) per image: the ids with each
   * run expanded to the token count of its image's grid.
   */
  expandInputIds(inputIds: ArrayLike<number>, grids: readonly GridThw[]): number[] {
    return expandImageTokenIds(inputIds, this.imageTokenId, grids.map((grid) => this.imageProcessor.tokensForGrid(grid)));
  }

  /**
   * The prompt's ids with each image's placeholder expanded to its token count: tokenized with one placeholder an image,
   * then the ids expanded, which gives the ids of the expanded text (the placeholder is a special token, split off
   * before any other rule) without tokenizing hundreds of placeholders a picture (~0.3 ms of the thread that prepares
   * every request, V8 profile of bench/vlm-shared-picture.ts on the H200 machine). Placeholders side by side (one run
   * of ids for several images) take the expanded text.
   */
  private async encodeWithImages(text: string, counts: readonly number[]): Promise<readonly number[]> {
    const once = await this.encode(text, counts.length);
    if (countTokenRuns(once, this.imageTokenId) === counts.length) return expandImageTokenIds(once, this.imageTokenId, counts);
    const expanded = replacePlaceholders(text, this.imageToken, counts.map((n) => this.imageToken.repeat(n)));
    return this.encode(expanded, counts.reduce((a, b) => a + b, 0));
  }

  private encode(text: string, expectedImageTokens: number): Promise<readonly number[]> {
    return encodeExpanded(this.tokenizer, text, this.imageToken, this.imageTokenId, expectedImageTokens);
  }
}
