/**
 * The Qwen2-VL image processor (Qwen2.5-VL uses it unchanged), as transformers runs it by default (the torchvision
 * "fast" path): smart_resize, bicubic antialiased resize on uint8, the fused rescale + normalize in float32, then the
 * patch layout the vision tower reads.
 *
 * Patch layout, per image: the frame is repeated `temporalPatchSize` times (a still image has grid_t = 1); rows go
 * over 2x2 merge blocks in row-major order and, inside a block, over its patches (0,0), (0,1), (1,0), (1,1); each row
 * holds channel-major, then temporal, then patch row, then patch column: `c*392 + t*196 + py*14 + px` for 14-pixel
 * patches.
 */
import type { ImageFeatures } from "./image-features.js";
import { IrisError } from "../core/errors.js";
import { hostTensor, int64Tensor, type HostTensor } from "../core/host-tensor.js";
import type { RgbImage } from "./image-types.js";
import { loadQwen2VLProcessorConfig, type Qwen2VLProcessorConfig } from "./qwen2-vl-processor-config.js";
import { smartResize } from "./qwen2-vl-smart-resize.js";
import { resizeUint8 } from "./resample.js";

export interface Qwen2VLImageFeatures {
  /** F32 [patches, 3 * temporalPatchSize * patchSize^2]: all images, one after the other. */
  readonly pixel_values: HostTensor;
  /** I64 [images, 3]: (grid_t, grid_h, grid_w) of each image, in patches. */
  readonly image_grid_thw: HostTensor;
  /** The same grids as plain numbers. */
  readonly grids: readonly GridThw[];
}

export type GridThw = readonly [number, number, number];

const CHANNELS = 3;

/**
 * The float32 value of each uint8 level per channel, computed as the reference rounds it: with rescale and normalize
 * both on, torchvision's fused path folds the rescale into float32 mean and std (`mean * (1/factor)`), then computes
 * `(x - mean') / std'` in float32.
 */
function normalizationTable(config: Qwen2VLProcessorConfig): Float32Array {
  const f = Math.fround;
  const table = new Float32Array(CHANNELS * 256);
  for (let c = 0; c < CHANNELS; c++) {
    const mean = f(config.imageMean[c]), std = f(config.imageStd[c]);
    const inverse = f(1 / config.rescaleFactor);
    const fusedMean = f(mean * inverse), fusedStd = f(std * inverse);
    const scale = f(config.rescaleFactor);
    for (let v = 0; v < 256; v++) {
      let x: number = v;
      if (config.doRescale && config.doNormalize) x = f(f(v - fusedMean) / fusedStd);
      else if (config.doNormalize) x = f(f(v - mean) / std);
      else if (config.doRescale) x = f(v * scale);
      table[c * 256 + v] = x;
    }
  }
  return table;
}

export class Qwen2VLImageProcessor {
  readonly config: Qwen2VLProcessorConfig;
  private readonly table: Float32Array;

  constructor(config: Qwen2VLProcessorConfig) {
    this.config = config;
    this.table = normalizationTable(config);
  }

  static async fromPretrained(modelDir: string): Promise<Qwen2VLImageProcessor> {
    return new Qwen2VLImageProcessor(await loadQwen2VLProcessorConfig(modelDir));
  }

  /** Length of one patch row: 3 * temporalPatchSize * patchSize^2 (1176 for Qwen2.5-VL). */
  get patchDim(): number {
    const { temporalPatchSize, patchSize } = this.config;
    return CHANNELS * temporalPatchSize * patchSize * patchSize;
  }

  /** The size an image of `width` x `height` is resized to, as `[height, width]`. */
  targetSize(width: number, height: number): [number, number] {
    const { patchSize, mergeSize, minPixels, maxPixels, doResize } = this.config;
    const factor = patchSize * mergeSize;
    if (doResize) return smartResize(height, width, { factor, minPixels, maxPixels });
    if (height % factor !== 0 || width % factor !== 0) {
      throw new IrisError("INVALID_ARGUMENT", `with do_resize off, image sides must be multiples of ${factor}, got ${width}x${height}`);
    }
    return [height, width];
  }

  /** (grid_t, grid_h, grid_w) of an image of `width` x `height`, without processing its pixels. */
  gridThw(width: number, height: number): GridThw {
    const [h, w] = this.targetSize(width, height);
    return [1, h / this.config.patchSize, w / this.config.patchSize];
  }

  /** Number of LLM tokens an image of this grid takes: prod(grid_thw) / mergeSize^2. */
  tokensForGrid(grid: GridThw): number {
    return (grid[0] * grid[1] * grid[2]) / (this.config.mergeSize * this.config.mergeSize);
  }

  /**
   * The per-channel value of each 8-bit level, [3 * 256] (rescale and normalize as the reference rounds them): what
   * a device kernel maps resized pixels through (`patchifyImage`) to give this processor's `pixel_values`.
   */
  get levelTable(): Float32Array {
    return this.table;
  }

  /** The picture resized to its target size, still 8-bit RGB: the processor's work before the patch rows. */
  resize(image: RgbImage): RgbImage {
    const [h, w] = this.targetSize(image.width, image.height);
    const px = resizeUint8({ ...image, channels: CHANNELS }, w, h, this.config.resample);
    return { width: px.width, height: px.height, data: px.data };
  }

  /** Processes the images into `pixel_values` and `image_grid_thw`, the images concatenated in order. */
  preprocess(images: readonly RgbImage[]): Qwen2VLImageFeatures {
    const resized = images.map((image) => this.resize(image));
    const grids: GridThw[] = resized.map((r) => [1, r.height / this.config.patchSize, r.width / this.config.patchSize]);
    const rows = grids.reduce((n, g) => n + g[0] * g[1] * g[2], 0);
    const out = new Float32Array(rows * this.patchDim);
    let offset = 0;
    for (let i = 0; i < resized.length; i++) offset = this.writePatches(resized[i], out, offset);
    return {
      pixel_values: hostTensor("F32", [rows, this.patchDim], out),
      image_grid_thw: int64Tensor([grids.length, 3], grids.flat()),
      grids,
    };
  }

  /**
   * One image as it was decoded, 8-bit RGB bytes (U8 [height * width * 3]) at its source size, with the grid it is
   * resized to (from smart_resize of that size): for a device that resizes it (with this processor's filter,
   * `resizeUint8`'s arithmetic) and patchifies it.
   */
  rgb8One(image: RgbImage): ImageFeatures {
    const grid = this.gridThw(image.width, image.height);
    // Its own buffer, so that it can be transferred from a worker thread whole.
    const owned = image.data.byteOffset === 0 && image.data.byteLength === image.data.buffer.byteLength;
    const data = owned ? image.data : image.data.slice();
    return { pixel_values: hostTensor("U8", [data.length], data), grid, sourceSize: [image.width, image.height] };
  }

  /** One image's features, for processing images one at a time on any thread (see image-features.ts). */
  preprocessOne(image: RgbImage): ImageFeatures {
    const features = this.preprocess([image]);
    return { pixel_values: features.pixel_values, grid: features.grids[0] };
  }

  /**
   * Writes one resized image's patch rows into `out` from element `offset`; returns the offset after them.
   * Scans the image row by row (reads in order), and writes each pixel to its place in every temporal copy.
   */
  private writePatches(image: RgbImage, out: Float32Array, offset: number): number {
    const { patchSize: ps, mergeSize: ms, temporalPatchSize: tps } = this.config;
    const table = this.table;
    const { width, height, data } = image;
    const plane = ps * ps;
    const channelStride = tps * plane;
    const patchDim = CHANNELS * channelStride;
    const patchesW = width / ps, blocksW = patchesW / ms;
    // Element offset of patch column gx within its merge-block row, for patch-row parity 0 (mh = 0).
    const columnBase = new Int32Array(patchesW);
    for (let gx = 0; gx < patchesW; gx++) {
      const bw = Math.floor(gx / ms), mw = gx % ms;
      columnBase[gx] = (bw * ms * ms + mw) * patchDim;
    }
    let src = 0;
    for (let y = 0; y < height; y++) {
      const gy = Math.floor(y / ps), py = y % ps;
      const bh = Math.floor(gy / ms), mh = gy % ms;
      const rowBase = offset + (bh * blocksW * ms * ms + mh * ms) * patchDim + py * ps;
      for (let gx = 0; gx < patchesW; gx++) {
        let dst = rowBase + columnBase[gx];
        for (let px = 0; px < ps; px++, dst++, src += CHANNELS) {
          const r = table[data[src]], g = table[256 + data[src + 1]], b = table[512 + data[src + 2]];
          // A still image is its own next frame: every temporal slot gets the same value.
          for (let t = 0, d = dst; t < tps; t++, d += plane) {
            out[d] = r;
            out[d + channelStride] = g;
            out[d + 2 * channelStride] = b;
          }
        }
      }
    }
    return offset + (width / ps) * (height / ps) * patchDim;
  }
}
