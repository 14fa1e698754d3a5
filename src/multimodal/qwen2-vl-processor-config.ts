/**
 * The Qwen2-VL image processor's settings (used by Qwen2.5-VL), translated once from the JSON of a model folder into
 * a frozen camelCase object. Defaults are the class defaults of transformers' `Qwen2VLImageProcessor`.
 */
import { IrisError } from "../core/errors.js";
import type { ResampleFilter } from "./resample.js";
import {
  optionalBoolean, optionalNumber, optionalObject, optionalString, optionalTriple, readProcessorJson, resampleFilter,
  type JsonObject,
} from "./processor-config-files.js";

export interface Qwen2VLProcessorConfig {
  readonly doResize: boolean;
  readonly doRescale: boolean;
  readonly doNormalize: boolean;
  readonly resample: ResampleFilter;
  /** Smallest image area after resizing, in pixels (`size.shortest_edge` or `min_pixels`; an area despite the name). */
  readonly minPixels: number;
  /** Largest image area after resizing, in pixels (`size.longest_edge` or `max_pixels`). */
  readonly maxPixels: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly mergeSize: number;
  readonly rescaleFactor: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  /** The placeholder the processor expands, one per image. */
  readonly imageToken: string;
}

const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export const QWEN2_VL_PROCESSOR_DEFAULTS: Qwen2VLProcessorConfig = Object.freeze({
  doResize: true,
  doRescale: true,
  doNormalize: true,
  resample: "bicubic",
  minPixels: 56 * 56,
  maxPixels: 28 * 28 * 1280,
  patchSize: 14,
  temporalPatchSize: 2,
  mergeSize: 2,
  rescaleFactor: 1 / 255,
  imageMean: Object.freeze(OPENAI_CLIP_MEAN) as readonly [number, number, number],
  imageStd: Object.freeze(OPENAI_CLIP_STD) as readonly [number, number, number],
  imageToken: "<|image_pad|>",
});

function positiveInteger(value: number | undefined, fallback: number, key: string, where: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new IrisError("CONFIG_INVALID", `${where}: ${key} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Translates an image processor JSON object (either layout) and the processor-level JSON. `min_pixels`/`max_pixels`
 * override `size.shortest_edge`/`size.longest_edge`, as in transformers.
 */
export function qwen2VLProcessorConfigFromJson(imageProcessor: JsonObject, processor: JsonObject = {}, where = "image processor config"): Qwen2VLProcessorConfig {
  const d = QWEN2_VL_PROCESSOR_DEFAULTS;
  const num = (key: string): number | undefined => optionalNumber(imageProcessor, key, where);
  const bool = (key: string, fallback: boolean): boolean => optionalBoolean(imageProcessor, key, where) ?? fallback;
  const size = optionalObject(imageProcessor, "size", where) ?? {};
  const minPixels = positiveInteger(num("min_pixels") ?? optionalNumber(size, "shortest_edge", `${where} size`), d.minPixels, "min_pixels", where);
  const maxPixels = positiveInteger(num("max_pixels") ?? optionalNumber(size, "longest_edge", `${where} size`), d.maxPixels, "max_pixels", where);
  if (minPixels > maxPixels) throw new IrisError("CONFIG_INVALID", `${where}: min_pixels ${minPixels} is above max_pixels ${maxPixels}`);
  const std = optionalTriple(imageProcessor, "image_std", where) ?? d.imageStd;
  if (std.some((s) => s === 0)) throw new IrisError("CONFIG_INVALID", `${where}: image_std must not contain 0`);
  return Object.freeze({
    doResize: bool("do_resize", d.doResize),
    doRescale: bool("do_rescale", d.doRescale),
    doNormalize: bool("do_normalize", d.doNormalize),
    resample: resampleFilter(num("resample"), d.resample, where),
    minPixels,
    maxPixels,
    patchSize: positiveInteger(num("patch_size"), d.patchSize, "patch_size", where),
    temporalPatchSize: positiveInteger(num("temporal_patch_size"), d.temporalPatchSize, "temporal_patch_size", where),
    mergeSize: positiveInteger(num("merge_size"), d.mergeSize, "merge_size", where),
    rescaleFactor: num("rescale_factor") ?? d.rescaleFactor,
    imageMean: Object.freeze(optionalTriple(imageProcessor, "image_mean", where) ?? [...d.imageMean]) as readonly [number, number, number],
    imageStd: Object.freeze([...std]) as readonly [number, number, number],
    imageToken: optionalString(processor, "image_token", where) ?? d.imageToken,
  });
}

/** Reads the processor settings of a Qwen2-VL / Qwen2.5-VL model folder (Hub or transformers 5 layout). */
export async function loadQwen2VLProcessorConfig(modelDir: string): Promise<Qwen2VLProcessorConfig> {
  const { imageProcessor, processor } = await readProcessorJson(modelDir);
  return qwen2VLProcessorConfigFromJson(imageProcessor, processor, `${modelDir} image processor`);
}
