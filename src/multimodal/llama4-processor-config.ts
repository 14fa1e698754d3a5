/**
 * The Llama 4 image processor's and processor's settings, translated once from the JSON of a model folder into a
 * frozen camelCase object. Defaults are those of transformers' `Llama4ImageProcessorFast` and `Llama4Processor`.
 */
import { IrisError } from "../core/errors.js";
import type { ResampleFilter } from "./resample.js";
import {
  optionalBoolean, optionalNumber, optionalObject, optionalString, optionalTriple, readProcessorJson, resampleFilter,
  type JsonObject,
} from "./processor-config-files.js";

export interface Llama4TokenStrings {
  /** The placeholder users write, one per image (`fake_image_token`); also the token before the global tile. */
  readonly image: string;
  readonly imageStart: string;
  readonly imageEnd: string;
  /** The token whose positions receive the vision embeddings. */
  readonly patch: string;
  readonly tileXSeparator: string;
  readonly tileYSeparator: string;
}

export interface Llama4ProcessorConfig {
  readonly doResize: boolean;
  readonly doRescale: boolean;
  readonly doNormalize: boolean;
  readonly resample: ResampleFilter;
  /** Side of a square tile in pixels (`size.height` = `size.width`). */
  readonly tileSize: number;
  /** Most tiles per image, the global tile not counted. */
  readonly maxPatches: number;
  readonly resizeToMaxCanvas: boolean;
  readonly rescaleFactor: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  /** Vision patch size (processor-level `patch_size`). */
  readonly patchSize: number;
  /** Pixel shuffle ratio of the vision adapter (`vision_config.pixel_shuffle_ratio` of config.json). */
  readonly pixelShuffleRatio: number;
  readonly tokens: Llama4TokenStrings;
}

export const LLAMA4_PROCESSOR_DEFAULTS: Llama4ProcessorConfig = Object.freeze({
  doResize: true,
  doRescale: true,
  doNormalize: true,
  resample: "bilinear",
  tileSize: 336,
  maxPatches: 16,
  resizeToMaxCanvas: false,
  rescaleFactor: 1 / 255,
  imageMean: Object.freeze([0.5, 0.5, 0.5]) as readonly [number, number, number],
  imageStd: Object.freeze([0.5, 0.5, 0.5]) as readonly [number, number, number],
  patchSize: 14,
  pixelShuffleRatio: 0.5,
  tokens: Object.freeze({
    image: "<|image|>",
    imageStart: "<|image_start|>",
    imageEnd: "<|image_end|>",
    patch: "<|patch|>",
    tileXSeparator: "<|tile_x_separator|>",
    tileYSeparator: "<|tile_y_separator|>",
  }),
});

function positiveInteger(value: number | undefined, fallback: number, key: string, where: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new IrisError("CONFIG_INVALID", `${where}: ${key} must be a positive integer, got ${value}`);
  return value;
}

/** Translates the image processor JSON, the processor-level JSON and (for the pixel shuffle ratio) config.json. */
export function llama4ProcessorConfigFromJson(
  imageProcessor: JsonObject, processor: JsonObject = {}, model: JsonObject = {}, where = "image processor config",
): Llama4ProcessorConfig {
  const d = LLAMA4_PROCESSOR_DEFAULTS;
  const num = (key: string): number | undefined => optionalNumber(imageProcessor, key, where);
  const bool = (key: string, fallback: boolean): boolean => optionalBoolean(imageProcessor, key, where) ?? fallback;
  const size = optionalObject(imageProcessor, "size", where);
  const height = size && optionalNumber(size, "height", `${where} size`);
  const width = size && optionalNumber(size, "width", `${where} size`);
  if (height !== undefined && width !== undefined && height !== width) {
    throw new IrisError("CONFIG_INVALID", `${where}: size must be square, got ${height}x${width}`);
  }
  const tileSize = positiveInteger(height ?? width, d.tileSize, "size.height", where);
  const patchSize = positiveInteger(optionalNumber(processor, "patch_size", where), d.patchSize, "patch_size", where);
  if (tileSize % patchSize !== 0) throw new IrisError("CONFIG_INVALID", `${where}: tile size ${tileSize} is not a multiple of patch_size ${patchSize}`);
  const vision = optionalObject(model, "vision_config", where) ?? {};
  const pixelShuffleRatio = optionalNumber(processor, "pixel_shuffle_ratio", where)
    ?? optionalNumber(vision, "pixel_shuffle_ratio", where) ?? d.pixelShuffleRatio;
  if (!(pixelShuffleRatio > 0 && pixelShuffleRatio <= 1)) throw new IrisError("CONFIG_INVALID", `${where}: pixel_shuffle_ratio must be in (0, 1], got ${pixelShuffleRatio}`);
  const std = optionalTriple(imageProcessor, "image_std", where) ?? d.imageStd;
  if (std.some((s) => s === 0)) throw new IrisError("CONFIG_INVALID", `${where}: image_std must not contain 0`);
  const str = (key: string, fallback: string): string => optionalString(processor, key, where) ?? fallback;
  return Object.freeze({
    doResize: bool("do_resize", d.doResize),
    doRescale: bool("do_rescale", d.doRescale),
    doNormalize: bool("do_normalize", d.doNormalize),
    resample: resampleFilter(num("resample"), d.resample, where),
    tileSize,
    maxPatches: positiveInteger(num("max_patches"), d.maxPatches, "max_patches", where),
    resizeToMaxCanvas: bool("resize_to_max_canvas", d.resizeToMaxCanvas),
    rescaleFactor: num("rescale_factor") ?? d.rescaleFactor,
    imageMean: Object.freeze(optionalTriple(imageProcessor, "image_mean", where) ?? [...d.imageMean]) as readonly [number, number, number],
    imageStd: Object.freeze([...std]) as readonly [number, number, number],
    patchSize,
    pixelShuffleRatio,
    tokens: Object.freeze({
      image: str("fake_image_token", str("image_token", d.tokens.image)),
      imageStart: str("start_of_image_token", d.tokens.imageStart),
      imageEnd: str("end_of_image_token", d.tokens.imageEnd),
      patch: str("patch_token", d.tokens.patch),
      tileXSeparator: str("tile_token", d.tokens.tileXSeparator),
      tileYSeparator: str("tile_global_token", d.tokens.tileYSeparator),
    }),
  });
}

/** Reads the processor settings of a Llama 4 model folder (Hub or transformers 5 layout). */
export async function loadLlama4ProcessorConfig(modelDir: string): Promise<Llama4ProcessorConfig> {
  const { imageProcessor, processor, model } = await readProcessorJson(modelDir);
  return llama4ProcessorConfigFromJson(imageProcessor, processor, model ?? {}, `${modelDir} image processor`);
}
