/**
 * Llama 4 requests: each `<|image|>` expanded into its tiles' `<|patch|>` runs by Iris's processor (or given
 * already expanded), pixel values as tiles; positions are plain cache positions, so none are sent.
 */
import type { Llama4Config } from "../checkpoint/llama4-config.js";
import { IrisError } from "../core/errors.js";
import { concatHostTensors } from "../core/host-tensor.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";
import type { ImageLoadRequest } from "../multimodal/image-types.js";
import { llama4ImagePromptText, type Llama4Processor } from "../multimodal/llama4-processor.js";
import { replacePlaceholders } from "../multimodal/image-placeholders.js";
import { tilesOf } from "../multimodal/llama4-tiling.js";
import { tableRows, type ClassifiedImages } from "./image-items.js";
import { blockHashes, checkEmbeddingWidth, checkImageTokens, encodeText, itemInputIds, textOnlyPrompt, type FamilyPreparer, type PreparedPrompt, type PromptSource } from "./prompt-preparer.js";

export class Llama4Preparer implements FamilyPreparer {
  readonly imageTokenId: number;

  /** @param keyEmbeddings whether precomputed embeddings get content keys (see `createPreparer`) */
  constructor(private readonly config: Llama4Config, private readonly processor: Llama4Processor, private readonly keyEmbeddings = true) {
    this.imageTokenId = config.tokens.image;
  }

  async prepare(source: PromptSource, images: ClassifiedImages, imageOptions?: ImageLoadRequest): Promise<PreparedPrompt> {
    if (images.kind === "none") return textOnlyPrompt(source, this.processor.tokenizer, this.imageTokenId);
    if (images.kind === "raw" && source.prompt !== undefined) {
      const out = await this.processor.processToIds({ text: source.prompt, images: images.images, imageOptions });
      const mm: MultimodalPayload = { kind: "pixels", pixelValues: out.pixel_values!, tilesPerImage: out.aspectRatios.map(tilesOf) };
      return this.finish(out.ids, mm, out.digests);
    }
    const mm = await this.processImages(images, imageOptions);
    let ids: number[];
    if (source.inputIds) ids = [...source.inputIds];
    else if (source.prompt !== undefined) ids = await encodeText(this.processor.tokenizer, this.expandPrompt(source.prompt, images));
    else ids = itemInputIds(images);
    return this.finish(ids, mm);
  }

  async processImages(images: ClassifiedImages, imageOptions?: ImageLoadRequest): Promise<MultimodalPayload> {
    if (images.kind === "raw") {
      const { pixel_values, aspectRatios } = await this.processor.features(images.images, imageOptions);
      return { kind: "pixels", pixelValues: pixel_values, tilesPerImage: aspectRatios.map(tilesOf) };
    }
    if (images.kind === "processor_output") {
      const pixelValues = concatHostTensors(images.items.map((item) => item.pixel_values!), "pixel_values");
      const ratios = images.items.flatMap((item, i) => tableRows(item.aspect_ratios, 2, `image item ${i}: aspect_ratios`));
      // Without aspect ratios every item counts as one image of all its tiles.
      const tilesPerImage = ratios.length ? ratios.map(tilesOf) : images.items.map((item) => item.pixel_values!.shape[0]);
      const tiles = tilesPerImage.reduce((a, b) => a + b, 0);
      const { numChannels, imageSize } = this.config.vision;
      const [n, c, h, w] = pixelValues.shape;
      if (pixelValues.shape.length !== 4 || n !== tiles || c !== numChannels || h !== imageSize || w !== imageSize) {
        throw new IrisError("IMAGE_TOKEN_MISMATCH", `pixel_values [${pixelValues.shape.join(", ")}] do not hold the ${tiles} tiles of [${numChannels}, ${imageSize}, ${imageSize}] the aspect ratios describe`);
      }
      return { kind: "pixels", pixelValues, tilesPerImage };
    }
    if (images.kind === "precomputed_embedding") {
      const embeddings = concatHostTensors(images.items.map((item) => item.feature), "feature");
      return { kind: "embeddings", embeddings: checkEmbeddingWidth(embeddings, this.config.text.hiddenSize) };
    }
    throw new IrisError("INVALID_ARGUMENT", "no images to process");
  }

  /** `digests`: each image's bytes' digest where the image workers computed them (else hashed here). */
  private finish(ids: readonly number[], mm: MultimodalPayload, digests?: readonly Uint8Array[]): PreparedPrompt {
    const patches = this.processor.patchesPerTile;
    if (mm.kind === "pixels") {
      const tiles = mm.tilesPerImage ?? [mm.pixelValues.shape[0]];
      checkImageTokens(ids, this.imageTokenId, tiles.reduce((a, b) => a + b, 0) * patches, "the images' tiles");
      const imageKeys = blockHashes(mm.pixelValues, tiles.map((n, i) => ({ rows: n, layout: `${n} tiles`, digest: digests?.[i] })));
      return { inputIds: ids, mm, imageKeys, imageTokenCounts: tiles.map((n) => n * patches) };
    }
    if (mm.kind === "rgb8") throw new IrisError("INTERNAL", "internal error: Llama 4 takes no 8-bit pictures");
    // Precomputed embeddings come as one block: the images of the request share one key.
    const rows = mm.embeddings.shape[0];
    checkImageTokens(ids, this.imageTokenId, rows, "the precomputed embeddings");
    const imageKeys = this.keyEmbeddings ? blockHashes(mm.embeddings, [{ rows, layout: "embeddings" }]) : [];
    return { inputIds: ids, mm, imageKeys, imageTokenCounts: [rows] };
  }

  /** A prompt with one `<|image|>` per image, expanded by the items' aspect ratios. */
  private expandPrompt(prompt: string, images: ClassifiedImages): string {
    const items = images.kind === "processor_output" ? images.items : [];
    const ratios = items.flatMap((item, i) => tableRows(item.aspect_ratios, 2, `image item ${i}: aspect_ratios`));
    if (ratios.length === 0) {
      throw new IrisError("INVALID_ARGUMENT", "with a text prompt, Llama 4 processor_output items need aspect_ratios to expand each <|image|>; or pass inputIds already expanded");
    }
    const config = this.processor.imageProcessor.config;
    const expansions = ratios.map(([r, c]) => llama4ImagePromptText([r, c], this.processor.patchesPerTile, config.tokens));
    return replacePlaceholders(prompt, config.tokens.image, expansions);
  }
}
