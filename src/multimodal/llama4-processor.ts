/**
 * The Llama 4 processor: a rendered prompt and its images in, `input_ids` and `pixel_values` out, as transformers'
 * `Llama4Processor` produces them. Each `<|image|>` placeholder becomes
 *   <|image_start|>
 *   for each tile row: (<|patch|> x N, with <|tile_x_separator|> between tiles), then <|tile_y_separator|>
 *   <|image|> <|patch|> x N <|image_end|>            (the global tile)
 * where N = (tile / patch)^2 / round(1 / pixel_shuffle_ratio^2) (144 for Llama 4); a single-tile image has only
 * <|image_start|><|image|> <|patch|> x N <|image_end|>. The model scatters vision embeddings into <|patch|> only.
 */
import { idsTensor, int64Tensor, type HostTensor, type HostTensor1D } from "../core/host-tensor.js";
import { checkPlaceholderCount, countOccurrences, replacePlaceholders } from "./image-placeholders.js";
import { InlineFeaturizer, mergeImageFeatures, type ImageFeaturizer, type MergedImageFeatures } from "./image-features.js";
import { featurizeOnce } from "./shared-images.js";
import type { ImageInput, ImageLoadRequest, ProcessorRequest } from "./image-types.js";
import { Llama4ImageProcessor } from "./llama4-image-processor.js";
import { tilesOf } from "./llama4-tiling.js";
import type { Llama4ProcessorConfig, Llama4TokenStrings } from "./llama4-processor-config.js";
import { encodeExpanded, requireTokenId, type ProcessorTokenizer } from "./processor-tokenizer.js";

export interface Llama4ProcessorOutput {
  /** I64 [L]. */
  readonly input_ids: HostTensor1D;
  /** BF16 [tiles, 3, 336, 336]; absent without images. */
  readonly pixel_values?: HostTensor;
  /** Per image, the tile grid `[rows, columns]`. */
  readonly aspectRatios: readonly (readonly [number, number])[];
  /** The same tile grids as an I64 [images, 2] tensor, under the name the engine's processor_output items read. */
  readonly aspect_ratios?: HostTensor;
  /** Each image's bytes' digest, where the image workers processed them (Iris's engine keys images with them). */
  readonly digests?: readonly Uint8Array[];
}

/** `<|patch|>` tokens per tile: (tile / patch)^2 divided by the pixel-shuffle downsampling, in integers. */
export function patchesPerTile(config: Llama4ProcessorConfig): number {
  const downsample = Math.round(1 / (config.pixelShuffleRatio * config.pixelShuffleRatio));
  const side = Math.floor(config.tileSize / config.patchSize);
  return Math.floor((side * side) / downsample);
}

/** The prompt text that replaces one `<|image|>` placeholder for an image of `[rows, columns]` tiles. */
export function llama4ImagePromptText(aspectRatio: readonly [number, number], patches: number, tokens: Llama4TokenStrings): string {
  const [rows, cols] = aspectRatio;
  const tile = tokens.patch.repeat(patches);
  let text = tokens.imageStart;
  if (rows * cols > 1) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        text += tile;
        if (x < cols - 1) text += tokens.tileXSeparator;
      }
      text += tokens.tileYSeparator;
    }
  }
  return text + tokens.image + tile + tokens.imageEnd;
}

export class Llama4Processor {
  readonly tokenizer: ProcessorTokenizer;
  readonly imageProcessor: Llama4ImageProcessor;
  readonly patchTokenId: number;
  private readonly featurizer: ImageFeaturizer;

  /** @param featurizer where images are loaded and processed (default: on this thread) */
  constructor(tokenizer: ProcessorTokenizer, imageProcessor: Llama4ImageProcessor, featurizer?: ImageFeaturizer) {
    this.tokenizer = tokenizer;
    this.imageProcessor = imageProcessor;
    this.featurizer = featurizer ?? new InlineFeaturizer(imageProcessor);
    const { tokens } = imageProcessor.config;
    for (const token of Object.values(tokens)) requireTokenId(tokenizer, token);
    this.patchTokenId = requireTokenId(tokenizer, tokens.patch);
  }

  static async fromPretrained(modelDir: string, tokenizer: ProcessorTokenizer, featurizer?: ImageFeaturizer): Promise<Llama4Processor> {
    return new Llama4Processor(tokenizer, await Llama4ImageProcessor.fromPretrained(modelDir), featurizer);
  }

  /** Loads and processes the images (each on the featurizer's thread), merged in order. */
  async features(images: readonly ImageInput[], options?: ImageLoadRequest): Promise<MergedImageFeatures> {
    return mergeImageFeatures(await Promise.all(images.map((image) => featurizeOnce(this.featurizer, image, options, "patches"))));
  }

  get patchesPerTile(): number {
    return patchesPerTile(this.imageProcessor.config);
  }

  async process(request: ProcessorRequest): Promise<Llama4ProcessorOutput> {
    const { ids, ...features } = await this.processToIds(request);
    return { input_ids: idsTensor(ids), ...features };
  }

  /** `process` with the prompt's ids as numbers, as Iris's engine takes them: no I64 tensor made and read back. */
  async processToIds(request: ProcessorRequest): Promise<Omit<Llama4ProcessorOutput, "input_ids"> & { readonly ids: readonly number[] }> {
    const images = request.images ?? [];
    const placeholder = this.imageProcessor.config.tokens.image;
    checkPlaceholderCount(countOccurrences(request.text, placeholder), images.length, placeholder);
    if (images.length === 0) return { ids: await this.encode(request.text, 0), aspectRatios: [] };
    const { pixel_values, aspectRatios, digests } = await this.features(images, request.imageOptions);
    const patches = this.patchesPerTile;
    const expansions = aspectRatios.map((ratio) => llama4ImagePromptText(ratio, patches, this.imageProcessor.config.tokens));
    const tiles = aspectRatios.reduce((n, ratio) => n + tilesOf(ratio), 0);
    const ids = await this.encode(replacePlaceholders(request.text, placeholder, expansions), tiles * patches);
    const aspect_ratios = int64Tensor([aspectRatios.length, 2], aspectRatios.flat());
    return { ids, pixel_values, aspectRatios, aspect_ratios, ...(digests ? { digests } : {}) };
  }

  private encode(text: string, expectedPatchTokens: number): Promise<readonly number[]> {
    return encodeExpanded(this.tokenizer, text, this.imageProcessor.config.tokens.patch, this.patchTokenId, expectedPatchTokens);
  }
}
