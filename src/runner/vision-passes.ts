/**
 * Batching of the vision encoder across requests: the pixel payloads of the requests that need their images in a
 * step are packed into passes of at most `budget` vision tokens (the tower's input tokens: Qwen2.5-VL's patches,
 * Llama 4's tile patches), each pass one payload whose images follow each other. Both towers already treat each
 * image apart inside a payload (Qwen's windows and whole-image segments are cumulative offsets per image; Llama 4
 * encodes tile by tile), so one pass gives every request the rows it would get alone.
 */
import type { ModelConfig } from "../checkpoint/model-config.js";
import { IrisError } from "../core/errors.js";
import { hostTensor, numel, toFloat32, type HostTensor } from "../core/host-tensor.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";

/**
 * Vision tokens of one encoder pass by default: twelve 504x504 pictures (1,296 patches each); at the 3B shape
 * roughly half a gigabyte of bf16 intermediates.
 */
export const DEFAULT_VISION_TOKEN_BUDGET = 16384;

/** What the tower takes: processor pixel values, or 8-bit source pictures resized and patchified on the device. */
export type PixelPayload = Exclude<MultimodalPayload, { kind: "embeddings" }>;

/** The vision tokens of a payload and the embedding rows it gives; null when its parts disagree (it then runs alone). */
export function visionShape(config: ModelConfig, mm: PixelPayload): { tokens: number; rows: number } | null {
  if (mm.kind === "rgb8") {
    if (config.family !== "qwen2_5_vl") return null;
    const patches = mm.imageGrids.reduce((n, [t, h, w]) => n + t * h * w, 0);
    const bytes = mm.sourceSizes.reduce((n, [w, h]) => n + w * h * 3, 0);
    const unit = config.vision.spatialMergeSize ** 2;
    if (mm.pixels.data.length !== bytes || mm.sourceSizes.length !== mm.imageGrids.length ||
      mm.imageGrids.some(([t, h, w]) => t !== 1 || (h * w) % unit !== 0)) return null;
    return { tokens: patches, rows: patches / unit };
  }
  const count = mm.pixelValues.shape[0];
  if (config.family === "qwen2_5_vl") {
    const grids = mm.imageGrids ?? [];
    const unit = config.vision.spatialMergeSize ** 2;
    const patches = grids.reduce((n, [t, h, w]) => n + t * h * w, 0);
    if (grids.length === 0 || patches !== count || grids.some(([t, h, w]) => (t * h * w) % unit !== 0)) return null;
    return { tokens: patches, rows: patches / unit };
  }
  const tiles = (mm.tilesPerImage ?? [count]).reduce((a, b) => a + b, 0);
  if (tiles !== count) return null;
  const v = config.vision;
  const side = v.imageSize / v.patchSize;
  return { tokens: count * side * side, rows: count * Math.round(side * side * v.pixelShuffleRatio ** 2) };
}

/**
 * Groups of item indices, in order, each group's cost at most `budget`; an item above the budget on its own forms a
 * group alone (it must still run).
 */
export function planPasses(costs: readonly number[], budget: number): number[][] {
  const passes: number[][] = [];
  let current: number[] = [], used = 0;
  costs.forEach((cost, i) => {
    if (current.length > 0 && used + cost > budget) {
      passes.push(current);
      current = [];
      used = 0;
    }
    current.push(i);
    used += cost;
  });
  if (current.length > 0) passes.push(current);
  return passes;
}

/** Several payloads as one: pixel rows one after the other (float32 where their dtypes differ), grids and tiles appended. */
export function concatPayloads(items: readonly PixelPayload[]): PixelPayload {
  if (items.length === 1) return items[0];
  if (items.some((mm) => mm.kind === "rgb8")) return concatRgb8(items);
  const values = items.map((mm) => (mm as Extract<PixelPayload, { kind: "pixels" }>).pixelValues);
  const sameType = values.every((t) => t.dtype === values[0].dtype);
  const parts: HostTensor[] = sameType ? values : values.map((t) => ({ dtype: "F32", shape: t.shape, data: toFloat32(t) }));
  const dtype = parts[0].dtype;
  const rest = parts[0].shape.slice(1);
  if (parts.some((t) => t.shape.slice(1).join() !== rest.join())) {
    throw new IrisError("INTERNAL", "internal error: pixel payloads of different row shapes in one vision pass");
  }
  const rows = parts.reduce((n, t) => n + t.shape[0], 0);
  const data = new (parts[0].data.constructor as new (n: number) => HostTensor["data"])(numel([rows, ...rest]));
  let at = 0;
  for (const part of parts) {
    (data as Uint8Array).set(part.data as Uint8Array, at);
    at += part.data.length;
  }
  const pixels = items as Extract<PixelPayload, { kind: "pixels" }>[];
  const grids = pixels.flatMap((mm) => mm.imageGrids ?? []);
  const tiles = pixels.flatMap((mm) => mm.tilesPerImage ?? [mm.pixelValues.shape[0]]);
  return {
    kind: "pixels",
    pixelValues: hostTensor(dtype, [rows, ...rest], data),
    ...(grids.length > 0 ? { imageGrids: grids } : {}),
    ...(pixels.some((mm) => mm.tilesPerImage) ? { tilesPerImage: tiles } : {}),
  };
}

/** 8-bit pictures of one processor (the same filter and level table) as one payload: bytes, sizes and grids appended. */
function concatRgb8(items: readonly PixelPayload[]): PixelPayload {
  const first = items[0];
  if (first.kind !== "rgb8" || items.some((mm) => mm.kind !== "rgb8" || mm.resample !== first.resample || !sameTable(mm.levelTable, first.levelTable))) {
    throw new IrisError("INTERNAL", "internal error: 8-bit pictures and other pixels (or other filters, level tables) in one vision pass");
  }
  const rgb8 = items as Extract<PixelPayload, { kind: "rgb8" }>[];
  const data = new Uint8Array(rgb8.reduce((n, mm) => n + mm.pixels.data.length, 0));
  let at = 0;
  for (const mm of rgb8) {
    data.set(mm.pixels.data as Uint8Array, at);
    at += mm.pixels.data.length;
  }
  return {
    kind: "rgb8", pixels: hostTensor("U8", [data.length], data), sourceSizes: rgb8.flatMap((mm) => mm.sourceSizes),
    imageGrids: rgb8.flatMap((mm) => mm.imageGrids), resample: first.resample, levelTable: first.levelTable,
  };
}

function sameTable(a: Float32Array, b: Float32Array): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}
