/**
 * The Llama 4 image processor as transformers runs it (`Llama4ImageProcessorFast`): choose a tile canvas, resize
 * (bilinear, antialiased, uint8) without distortion, pad with zeros at the bottom and right, rescale and normalize
 * in bfloat16, split into tiles row-major, and append a global tile (the whole image squeezed to one tile) when there
 * is more than one tile.
 *
 * The output is bf16, as the reference's: `(x_u8 -> bf16) * rescale_factor`, then `- mean`, then `/ std`, each result
 * rounded to bf16 (PyTorch computes each bf16 operation in float32 and rounds the result).
 */
import { hostTensor, type HostTensor } from "../core/host-tensor.js";
import { f32ToBf16, roundToBf16 } from "../core/half.js";
import type { ImageFeatures } from "./image-features.js";
import type { RgbImage } from "./image-types.js";
import { loadLlama4ProcessorConfig, type Llama4ProcessorConfig } from "./llama4-processor-config.js";
import { bestFitCanvas, resizeTarget, supportedCanvases, tilesOf, type Canvas } from "./llama4-tiling.js";
import { resizeUint8, type PixelBuffer } from "./resample.js";

export interface Llama4ImageFeatures {
  /** BF16 [tiles, 3, tileSize, tileSize]: each image's tiles row-major, then its global tile when it has several. */
  readonly pixel_values: HostTensor;
  /** Per image, the tile grid `[rows, columns]` (HF's `aspect_ratios`). */
  readonly aspectRatios: readonly (readonly [number, number])[];
}

const CHANNELS = 3;

/** The bf16 bit pattern of each uint8 level per channel after rescale and normalize. */
function normalizationTable(config: Llama4ProcessorConfig): Uint16Array {
  const f = Math.fround;
  const table = new Uint16Array(CHANNELS * 256);
  const scale = f(config.rescaleFactor);
  for (let c = 0; c < CHANNELS; c++) {
    const mean = roundToBf16(f(config.imageMean[c])), std = roundToBf16(f(config.imageStd[c]));
    for (let v = 0; v < 256; v++) {
      let x: number;
      if (config.doRescale && config.doNormalize) {
        x = roundToBf16(f(v * scale));
        x = roundToBf16(f(x - mean));
        x = roundToBf16(f(x / std));
      } else if (config.doRescale) {
        x = f(v * scale); // uint8 * float: float32, no bf16 step
      } else if (config.doNormalize) {
        x = f(f(v - f(config.imageMean[c])) / f(config.imageStd[c]));
      } else {
        x = v;
      }
      table[c * 256 + v] = f32ToBf16(x);
    }
  }
  return table;
}

export class Llama4ImageProcessor {
  readonly config: Llama4ProcessorConfig;
  readonly canvases: readonly Canvas[];
  private readonly table: Uint16Array;

  constructor(config: Llama4ProcessorConfig) {
    this.config = config;
    this.canvases = supportedCanvases(config.maxPatches, config.tileSize);
    this.table = normalizationTable(config);
  }

  static async fromPretrained(modelDir: string): Promise<Llama4ImageProcessor> {
    return new Llama4ImageProcessor(await loadLlama4ProcessorConfig(modelDir));
  }

  /** The canvas `[height, width]` and resize target `[height, width]` of an image of `width` x `height`. */
  plan(width: number, height: number): { canvas: Canvas; resized: [number, number] } {
    const { tileSize, resizeToMaxCanvas, doResize } = this.config;
    const canvas = bestFitCanvas(height, width, this.canvases, resizeToMaxCanvas);
    const resized = doResize ? resizeTarget(height, width, canvas, tileSize, resizeToMaxCanvas) : [height, width] as [number, number];
    return { canvas, resized };
  }

  /** The tile grid `[rows, columns]` of an image of `width` x `height`. */
  aspectRatio(width: number, height: number): [number, number] {
    const [ch, cw] = this.plan(width, height).canvas;
    return [ch / this.config.tileSize, cw / this.config.tileSize];
  }

  preprocess(images: readonly RgbImage[]): Llama4ImageFeatures {
    const { tileSize, resample } = this.config;
    const plans = images.map((image) => this.plan(image.width, image.height));
    const aspectRatios = plans.map(({ canvas }) => [canvas[0] / tileSize, canvas[1] / tileSize] as const);
    const tileCounts = aspectRatios.map(tilesOf);
    const total = tileCounts.reduce((a, b) => a + b, 0);
    const tileElements = CHANNELS * tileSize * tileSize;
    const out = new Uint16Array(total * tileElements);
    let tile = 0;
    images.forEach((image, i) => {
      const [rows, cols] = aspectRatios[i];
      const [h, w] = plans[i].resized;
      const source: PixelBuffer = { ...image, channels: CHANNELS };
      const resized = resizeUint8(source, w, h, resample);
      for (let ty = 0; ty < rows; ty++) {
        for (let tx = 0; tx < cols; tx++) this.writeTile(resized, ty * tileSize, tx * tileSize, out, tile++ * tileElements);
      }
      if (rows * cols > 1) {
        const global = resizeUint8(source, tileSize, tileSize, resample);
        this.writeTile(global, 0, 0, out, tile++ * tileElements);
      }
    });
    return { pixel_values: hostTensor("BF16", [total, CHANNELS, tileSize, tileSize], out), aspectRatios };
  }

  /** One image's features, for processing images one at a time on any thread (see image-features.ts). */
  preprocessOne(image: RgbImage): ImageFeatures {
    const features = this.preprocess([image]);
    return { pixel_values: features.pixel_values, aspectRatio: features.aspectRatios[0] };
  }

  /** Writes the tile at (`top`, `left`) of the zero-padded canvas, normalized, as CHW bf16 at `offset`. */
  private writeTile(image: PixelBuffer, top: number, left: number, out: Uint16Array, offset: number): void {
    const size = this.config.tileSize;
    const table = this.table;
    const { width, height, data } = image;
    for (let c = 0; c < CHANNELS; c++) {
      const lut = c * 256;
      const padded = table[lut]; // the zero padding, normalized like any pixel
      for (let y = 0; y < size; y++) {
        const row = offset + (c * size + y) * size;
        const sy = top + y;
        const inside = sy < height ? Math.max(0, Math.min(size, width - left)) : 0;
        let src = (sy * width + left) * CHANNELS + c;
        for (let x = 0; x < inside; x++, src += CHANNELS) out[row + x] = table[lut + data[src]];
        out.fill(padded, row + inside, row + size);
      }
    }
  }
}
