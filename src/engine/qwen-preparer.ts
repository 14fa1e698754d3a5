/**
 * Qwen2.5-VL requests: `<|image_pad|>` placeholders expanded to each image's token count, pixel values and grids
 * from Iris's processor (or given), and the M-RoPE positions of the prompt, computed here as SGLang's processor does.
 */
import type { Qwen2_5_VLConfig } from "../checkpoint/qwen2-5-vl-config.js";
import { IrisError } from "../core/errors.js";
import { concatHostTensors } from "../core/host-tensor.js";
import type { HostTensor } from "../core/host-tensor.js";
import type { MultimodalPayload, PromptPositions } from "../core/multimodal-payload.js";
import type { TensorLike } from "../core/request.js";
import type { ImageLoadRequest } from "../multimodal/image-types.js";
import { mropePositions } from "../multimodal/mrope-positions.js";
import type { Qwen2_5VLProcessor } from "../multimodal/qwen2-5-vl-processor.js";
import type { GridThw } from "../multimodal/qwen2-vl-image-processor.js";
import type { FeatureOutput } from "../multimodal/image-features.js";
import { tableRows, type ClassifiedImages } from "./image-items.js";
import { blockHashes, checkEmbeddingWidth, checkImageTokens, encodeText, itemInputIds, textOnlyPrompt, placeImageTokens, type FamilyPreparer, type PreparedPrompt, type PromptSource } from "./prompt-preparer.js";

export class QwenPreparer implements FamilyPreparer {
  readonly imageTokenId: number;

  /**
   * @param output "rgb8" where the device resizes, rescales, normalizes and patchifies raw pictures (they travel as
   * decoded, 8-bit bytes at their source sizes); "patches": the processor's pixel values
   * @param keyEmbeddings whether precomputed embeddings get content keys (see `createPreparer`)
   */
  constructor(private readonly config: Qwen2_5_VLConfig, private readonly processor: Qwen2_5VLProcessor,
    private readonly output: FeatureOutput = "patches", private readonly keyEmbeddings = true) {
    this.imageTokenId = config.tokens.image;
  }

  async prepare(source: PromptSource, images: ClassifiedImages, imageOptions?: ImageLoadRequest): Promise<PreparedPrompt> {
    if (images.kind === "none") return textOnlyPrompt(source, this.processor.tokenizer, this.imageTokenId);
    if (images.kind === "raw" && source.prompt !== undefined) {
      const out = await this.processor.processToIds({ text: source.prompt, images: images.images, imageOptions }, this.output);
      const mm = this.pixels(out.pixel_values!, out.grids, out.sourceSizes);
      return this.finish(out.ids, mm, out.digests);
    }
    const mm = await this.processImages(images, imageOptions);
    const grids = (mm.imageGrids ?? []) as GridThw[];
    const tokensPerImage = grids.map((g) => this.processor.imageProcessor.tokensForGrid(g));
    const given = source.inputIds ?? (source.prompt !== undefined ? await encodeText(this.processor.tokenizer, source.prompt) : itemInputIds(images));
    const ids = placeImageTokens(given, this.imageTokenId, tokensPerImage, (raw) => this.processor.expandInputIds(raw, grids), source.maxInputTokens);
    return this.finish(ids, mm);
  }

  async processImages(images: ClassifiedImages, imageOptions?: ImageLoadRequest): Promise<MultimodalPayload> {
    if (images.kind === "raw") {
      const features = await this.processor.features(images.images, imageOptions, this.output);
      return this.pixels(features.pixel_values, features.grids, features.sourceSizes);
    }
    if (images.kind === "processor_output") {
      const grids = this.grids(images.items);
      const pixelValues = concatHostTensors(images.items.map((item) => item.pixel_values!), "pixel_values");
      const patches = grids.reduce((n, [t, h, w]) => n + t * h * w, 0);
      const v = this.config.vision;
      const patchDim = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
      if (pixelValues.shape.length !== 2 || pixelValues.shape[0] !== patches || pixelValues.shape[1] !== patchDim) {
        throw new IrisError("IMAGE_TOKEN_MISMATCH", `pixel_values [${pixelValues.shape.join(", ")}] do not hold the ${patches} patches of ${patchDim} values image_grid_thw describes`);
      }
      return { kind: "pixels", pixelValues, imageGrids: grids };
    }
    if (images.kind === "precomputed_embedding") {
      const grids = this.grids(images.items);
      if (grids.length === 0) {
        throw new IrisError("INVALID_ARGUMENT", "precomputed embeddings for Qwen2.5-VL need image_grid_thw, which places the image tokens' M-RoPE positions");
      }
      const embeddings = checkEmbeddingWidth(concatHostTensors(images.items.map((item) => item.feature), "feature"), this.config.text.hiddenSize);
      const tokens = grids.reduce((n, g) => n + this.processor.imageProcessor.tokensForGrid(g), 0);
      if (embeddings.shape[0] !== tokens) {
        throw new IrisError("IMAGE_TOKEN_MISMATCH", `the images give ${embeddings.shape[0]} rows of embeddings but their grids need ${tokens}`);
      }
      return { kind: "embeddings", embeddings, imageGrids: grids };
    }
    throw new IrisError("INVALID_ARGUMENT", "no images to process");
  }

  /** The items' grids; each must merge evenly into image tokens (h and w multiples of the spatial merge size). */
  private grids(items: readonly { image_grid_thw?: TensorLike }[]): GridThw[] {
    const merge = this.config.vision.spatialMergeSize;
    return items.flatMap((item, i) => tableRows(item.image_grid_thw, 3, `image item ${i}: image_grid_thw`).map((row) => {
      if (row[1] % merge !== 0 || row[2] % merge !== 0) {
        throw new IrisError("INVALID_ARGUMENT", `image item ${i}: image_grid_thw row [${row.join(", ")}] must have h and w divisible by the spatial merge size ${merge}`);
      }
      return [row[0], row[1], row[2]] as const;
    }));
  }

  private pixels(pixelValues: HostTensor, grids: readonly GridThw[], sourceSizes?: readonly (readonly [number, number])[]): MultimodalPayload {
    const imageGrids = grids.map((g) => [...g]);
    if (pixelValues.dtype !== "U8") return { kind: "pixels", pixelValues, imageGrids };
    const { levelTable, config } = this.processor.imageProcessor;
    if (sourceSizes?.length !== grids.length) throw new IrisError("INTERNAL", "internal error: 8-bit pictures without their source sizes");
    return { kind: "rgb8", pixels: pixelValues, sourceSizes, imageGrids, resample: config.resample, levelTable };
  }

  /** `digests`: each image's bytes' digest where the image workers computed them (else hashed here). */
  private finish(ids: readonly number[], mm: MultimodalPayload, digests?: readonly Uint8Array[]): PreparedPrompt {
    const grids = (mm.imageGrids ?? []) as GridThw[];
    const tokensPerImage = grids.map((g) => this.processor.imageProcessor.tokensForGrid(g));
    // Rows per image of what the payload holds: patches, 8-bit bytes of the picture at its source size, or embeddings.
    const perImage = grids.map(([t, h, w], i) => (mm.kind === "pixels" ? t * h * w
      : mm.kind === "rgb8" ? mm.sourceSizes[i][0] * mm.sourceSizes[i][1] * 3 : tokensPerImage[i]));
    const held = mm.kind === "pixels" ? mm.pixelValues : mm.kind === "rgb8" ? mm.pixels : mm.embeddings;
    const expectedRows = perImage.reduce((a, b) => a + b, 0);
    if (held.shape[0] !== expectedRows) {
      throw new IrisError("IMAGE_TOKEN_MISMATCH", `the images give ${held.shape[0]} rows of ${mm.kind === "embeddings" ? "embeddings" : "pixel values"} but their grids need ${expectedRows}`);
    }
    checkImageTokens(ids, this.imageTokenId, tokensPerImage.reduce((a, b) => a + b, 0), "the images' grids");
    // The content key: the bytes and their layout (8-bit pictures: also the size the bytes hold).
    const layout = (grid: GridThw, i: number) => `grid ${grid.join("x")}${mm.kind === "rgb8" ? ` from ${mm.sourceSizes[i].join("x")}` : ""}`;
    const imageKeys = mm.kind === "embeddings" && !this.keyEmbeddings ? []
      : blockHashes(held, grids.map((g, i) => ({ rows: perImage[i], layout: layout(g, i), digest: digests?.[i] })));
    const { positions, ropeDelta } = mropePositions(ids, grids, {
      imageTokenId: this.imageTokenId,
      visionStartTokenId: this.config.tokens.visionStart,
      spatialMergeSize: this.config.vision.spatialMergeSize,
    });
    return { inputIds: ids, mm, imageKeys, imageTokenCounts: tokensPerImage, positions: interleaveRows(positions, ids.length, ropeDelta) };
  }
}

/** Rows t, h, w (each of length L) → [L, 3] row-major, as the runner reads positions. */
function interleaveRows(rows: Int32Array, length: number, decodeOffset: number): PromptPositions {
  const values = new Int32Array(length * 3);
  for (let i = 0; i < length; i++) for (let r = 0; r < 3; r++) values[i * 3 + r] = rows[r * length + i];
  return { values, rows: 3, decodeOffset };
}
