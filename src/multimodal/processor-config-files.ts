/**
 * Where a model folder keeps its processor settings, in both layouts users have:
 * - the Hub layout (transformers 4): `preprocessor_config.json` holds the image processor, and an optional
 *   `processor_config.json` holds processor-level fields (e.g. Llama 4's `patch_size`, `image_token`);
 * - the transformers 5 layout: `processor_config.json` holds those fields and the image processor under
 *   `image_processor`.
 * The raw JSON objects found here are translated to typed configs by the per-model `*-processor-config.ts` files.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { IrisError } from "../core/errors.js";

export type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export async function readJsonIfExists(path: string): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    throw new IrisError("MODEL_LOAD", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new IrisError("CONFIG_INVALID", `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(parsed)) throw new IrisError("CONFIG_INVALID", `${path} must hold a JSON object`);
  return parsed;
}

export interface ProcessorJson {
  /** The image processor's settings. */
  readonly imageProcessor: JsonObject;
  /** Processor-level settings (empty when the folder has none). */
  readonly processor: JsonObject;
  /** `config.json` of the model, when present (some processor values live there, e.g. Llama 4's pixel shuffle). */
  readonly model: JsonObject | undefined;
}

/** Reads the processor settings of a model folder, preferring `processor_config.json` → `image_processor`. */
export async function readProcessorJson(modelDir: string): Promise<ProcessorJson> {
  const processor = (await readJsonIfExists(join(modelDir, "processor_config.json"))) ?? {};
  const model = await readJsonIfExists(join(modelDir, "config.json"));
  const nested = processor.image_processor;
  if (nested !== undefined) {
    if (!isObject(nested)) throw new IrisError("CONFIG_INVALID", `${modelDir}/processor_config.json: image_processor must be an object`);
    return { imageProcessor: nested, processor, model };
  }
  const hub = await readJsonIfExists(join(modelDir, "preprocessor_config.json"));
  if (hub === undefined) {
    throw new IrisError("MODEL_LOAD", `${modelDir} has no image processor settings: expected preprocessor_config.json, or processor_config.json with an image_processor entry`);
  }
  return { imageProcessor: hub, processor, model };
}

// ==== typed field readers: each names the file's key in its error ====

export function optionalNumber(json: JsonObject, key: string, where: string): number | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new IrisError("CONFIG_INVALID", `${where}: ${key} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

export function optionalBoolean(json: JsonObject, key: string, where: string): boolean | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new IrisError("CONFIG_INVALID", `${where}: ${key} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function optionalString(json: JsonObject, key: string, where: string): string | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new IrisError("CONFIG_INVALID", `${where}: ${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

export function optionalObject(json: JsonObject, key: string, where: string): JsonObject | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new IrisError("CONFIG_INVALID", `${where}: ${key} must be an object`);
  return value;
}

/** A per-channel value: three numbers, or one number repeated (HF accepts both). */
export function optionalTriple(json: JsonObject, key: string, where: string): [number, number, number] | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") return [value, value, value];
  if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === "number")) return [value[0], value[1], value[2]];
  throw new IrisError("CONFIG_INVALID", `${where}: ${key} must be a number or three numbers, got ${JSON.stringify(value)}`);
}

/** PIL's resampling enum as the configs store it; only the two filters the processors use are supported. */
export function resampleFilter(code: number | undefined, fallback: "bilinear" | "bicubic", where: string): "bilinear" | "bicubic" {
  if (code === undefined) return fallback;
  if (code === 2) return "bilinear";
  if (code === 3) return "bicubic";
  throw new IrisError("CONFIG_INVALID", `${where}: resample ${code} is not supported (2 = bilinear and 3 = bicubic are)`);
}
