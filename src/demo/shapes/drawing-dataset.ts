/**
 * Data sets of the second generator (GENERATOR_VERSION 2), read by scripts/train-demo-model/demo_data.py. The
 * files are those of the first (dataset-format.ts), with pictures of varying sizes:
 *
 * - `images.u8`: each picture as the demo model's processor resizes it (processor-view in drawing-render.ts), HWC
 *   RGB uint8, back to back in index order; picture i is `height * width * 3` bytes (its record's sizes), so its
 *   offset is the sum of the sizes before it.
 * - `canvases.u8` (only with `canvases` > 0): the first `canvases` pictures at their canvas size, before the
 *   processor, the same way: what Hugging Face's processor is given for the reference outputs.
 * - `samples.jsonl`: one `DrawingRecord` per picture; `meta.json` last.
 */
import { describeScene, questionsFor, type QuestionAnswer } from "./language.js";
import { generateDrawing } from "./drawing-scene.js";
import { processorView, renderDrawing } from "./drawing-render.js";
import type { BackgroundKind, DrawingScene, Rasterizer } from "./drawing-types.js";
import type { ColorName, ShapeKind } from "./scene-types.js";

export const DRAWINGS_GENERATOR_VERSION = 2;
export const CANVASES_FILE = "canvases.u8";

export interface DrawingRecord {
  readonly index: number;
  readonly seed: number;
  /** The picture's size in images.u8: what the processor makes of the canvas (multiples of 28). */
  readonly width: number;
  readonly height: number;
  readonly canvasWidth: number;
  readonly canvasHeight: number;
  readonly rasterizer: Rasterizer;
  readonly background: BackgroundKind;
  readonly description: string;
  readonly questions: readonly QuestionAnswer[];
  readonly shapes: readonly { kind: ShapeKind; color: ColorName; rgb: readonly number[]; x: number; y: number; halfExtent: number }[];
}

export function drawingRecord(index: number, scene: DrawingScene, width: number, height: number): DrawingRecord {
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    index,
    seed: scene.seed,
    width,
    height,
    canvasWidth: scene.width,
    canvasHeight: scene.height,
    rasterizer: scene.rasterizer,
    background: scene.background.kind,
    description: describeScene(scene),
    questions: questionsFor(scene),
    shapes: scene.shapes.map((s) => ({ kind: s.kind, color: s.color, rgb: [...s.rgb], x: round(s.centerX), y: round(s.centerY), halfExtent: round(s.halfExtent) })),
  };
}

export interface DrawingChunk {
  /** The processor views of the chunk's pictures, back to back. */
  readonly images: Uint8Array;
  /** The canvases of the chunk's pictures below the `canvases` limit, back to back (maybe empty). */
  readonly canvases: Uint8Array;
  readonly jsonl: string;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pictures and records for indices [firstIndex, firstIndex + count); canvases kept for indices below `canvases`. */
export async function renderDrawingChunk(seedStart: number, firstIndex: number, count: number, canvases: number): Promise<DrawingChunk> {
  const views: Uint8Array[] = [];
  const kept: Uint8Array[] = [];
  let jsonl = "";
  for (let i = 0; i < count; i++) {
    const index = firstIndex + i;
    const scene = generateDrawing(seedStart + index);
    const canvas = await renderDrawing(scene);
    const view = processorView(canvas);
    views.push(view.data);
    if (index < canvases) kept.push(canvas.data);
    jsonl += JSON.stringify(drawingRecord(index, scene, view.width, view.height)) + "\n";
  }
  return { images: concat(views), canvases: concat(kept), jsonl };
}
