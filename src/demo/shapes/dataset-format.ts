/**
 * The on-disk format of a shapes data set (read by scripts/train-demo-model/train.py):
 *
 * - `images.u8`: `count` pictures of CANVAS_SIZE x CANVAS_SIZE x 3 bytes each, back to back; each picture
 *   row-major (HWC), RGB, uint8. Picture i starts at byte i * BYTES_PER_IMAGE.
 * - `samples.jsonl`: one JSON object per picture, in order: `SampleRecord` below.
 * - `meta.json`: `DatasetMeta` below, written last (its presence means the data set is complete).
 *
 * Picture i has seed `seedStart + i`; every value in it follows from that seed alone.
 */
import { describeScene, questionsFor, type QuestionAnswer } from "./language.js";
import { renderSceneInto } from "./render.js";
import { generateScene } from "./scene.js";
import { CANVAS_SIZE, CHANNELS, type ColorName, type Scene, type ShapeKind, type SizeName } from "./scene-types.js";
import type { SeedSplit } from "./seeds.js";

export const BYTES_PER_IMAGE = CANVAS_SIZE * CANVAS_SIZE * CHANNELS;
export const IMAGES_FILE = "images.u8";
export const SAMPLES_FILE = "samples.jsonl";
export const META_FILE = "meta.json";
/** Bumped whenever the same seed would give other bytes or other text: data sets of different versions differ. */
export const GENERATOR_VERSION = 1;

export interface SampleRecord {
  readonly index: number;
  readonly seed: number;
  readonly description: string;
  readonly questions: readonly QuestionAnswer[];
  /** The scene itself, left to right, for debugging and analysis (the training script does not need it). */
  readonly shapes: readonly { kind: ShapeKind; color: ColorName; size: SizeName; x: number; y: number }[];
}

export interface DatasetMeta {
  readonly generatorVersion: number;
  readonly count: number;
  readonly seedStart: number;
  readonly split: SeedSplit;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly layout: "HWC RGB uint8, row-major";
  readonly imagesFile: string;
  readonly samplesFile: string;
  /** Generator 2 with canvases kept: their file and how many (the first pictures). */
  readonly canvasesFile?: string;
  readonly canvases?: number;
}

export function sampleRecord(index: number, scene: Scene): SampleRecord {
  return {
    index,
    seed: scene.seed,
    description: describeScene(scene),
    questions: questionsFor(scene),
    shapes: scene.shapes.map((s) => ({ kind: s.kind, color: s.color, size: s.size, x: s.centerX, y: s.centerY })),
  };
}

export interface RenderedChunk {
  /** `count` pictures back to back, BYTES_PER_IMAGE each. */
  readonly images: Uint8Array;
  /** `count` JSON lines, each ending in "\n". */
  readonly jsonl: string;
}

/** Pictures and records for data set indices [firstIndex, firstIndex + count), seeds from seedStart + firstIndex. */
export function renderChunk(seedStart: number, firstIndex: number, count: number): RenderedChunk {
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  let jsonl = "";
  for (let i = 0; i < count; i++) {
    const index = firstIndex + i;
    const scene = generateScene(seedStart + index);
    renderSceneInto(scene, images, i * BYTES_PER_IMAGE);
    jsonl += JSON.stringify(sampleRecord(index, scene)) + "\n";
  }
  return { images, jsonl };
}
