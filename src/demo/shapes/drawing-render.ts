/**
 * Renders a second-generator scene at its canvas size (RGB, HWC, uint8), with the scene's rasterizer, and the view
 * the demo model gets of it: the picture as the Qwen2-VL processor of models/shapes-vlm resizes it.
 */
import { smartResize } from "../../multimodal/qwen2-vl-smart-resize.js";
import { resizeUint8 } from "../../multimodal/resample.js";
import { addCanvasNoise, canvasToBytes, paintBackground, paintShapeOwn } from "./drawing-raster.js";
import { paintShapesSvg } from "./drawing-svg.js";
import type { DrawingScene } from "./drawing-types.js";
import { Prng, streamSeed } from "./prng.js";
import type { RenderedImage } from "./render.js";
import { STREAM } from "./scene.js";

/**
 * The demo checkpoint's processor settings (preprocessor_config.json, written by scripts/train-demo-model/
 * demo_checkpoint.py): 28-pixel blocks (patch 14, merge 2), between 56x56 and 112x112 pixels of area.
 */
export const DEMO_PROCESSOR = { factor: 28, minPixels: 56 * 56, maxPixels: 112 * 112 } as const;

export async function renderDrawing(scene: DrawingScene): Promise<RenderedImage> {
  const canvas = paintBackground(scene.width, scene.height, scene.background);
  switch (scene.rasterizer) {
    case "coverage":
    case "aliased":
    case "distance":
      for (const shape of scene.shapes) paintShapeOwn(canvas, shape, scene.rasterizer);
      break;
    case "svg":
    case "svg-crisp":
      await paintShapesSvg(canvas, scene.shapes, scene.rasterizer === "svg-crisp");
      break;
  }
  addCanvasNoise(canvas, scene.background.noiseAmplitude, new Prng(streamSeed(scene.seed, STREAM.noise)));
  return { width: scene.width, height: scene.height, data: canvasToBytes(canvas) };
}

/** The processor's size for a picture, [height, width]. */
export function processorSize(width: number, height: number): [number, number] {
  return smartResize(height, width, DEMO_PROCESSOR);
}

/** The picture as the processor resizes it (bicubic, antialiased, on uint8, as torchvision does). */
export function processorView(image: RenderedImage): RenderedImage {
  const [height, width] = processorSize(image.width, image.height);
  const resized = resizeUint8({ ...image, channels: 3 }, width, height, "bicubic");
  return { width: resized.width, height: resized.height, data: resized.data };
}
