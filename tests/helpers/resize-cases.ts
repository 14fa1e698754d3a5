/**
 * The pictures and sizes the `resizeImage` op is tested on (cpu against `resizeUint8`, cuda against cpu), and one
 * resize on a device: the processor's weights uploaded, the picture's bytes packed, the result unpacked.
 */
import type { ResampleFilter } from "../../src/core/resample-passes.js";
import { packBytes } from "../../src/kernels/patchify-image.js";
import { resizeImage, uploadAxisWeights } from "../../src/kernels/resize-image.js";
import { resizeWeights, type PixelBuffer } from "../../src/multimodal/resample.js";
import { downloadInt32, fromHost } from "../../src/runtime/creation.js";
import type { Device } from "../../src/runtime/device.js";
import { rng } from "./rng.js";

export interface ResizeCase {
  readonly name: string;
  readonly src: [number, number];
  readonly dst: [number, number];
  readonly filter: ResampleFilter;
}

/** Down and up, one axis unchanged, the same size, odd sizes, one pixel wide or high, both filters. */
export const RESIZE_CASES: readonly ResizeCase[] = [
  { name: "down both", src: [97, 150], dst: [56, 84], filter: "bicubic" },
  { name: "up both", src: [33, 21], dst: [84, 56], filter: "bicubic" },
  { name: "down one, up the other", src: [200, 31], dst: [112, 56], filter: "bicubic" },
  { name: "width unchanged", src: [56, 77], dst: [56, 140], filter: "bicubic" },
  { name: "height unchanged", src: [77, 56], dst: [28, 56], filter: "bicubic" },
  { name: "same size (a copy)", src: [56, 28], dst: [56, 28], filter: "bicubic" },
  { name: "odd sizes", src: [101, 103], dst: [37, 59], filter: "bicubic" },
  { name: "one pixel wide", src: [1, 45], dst: [28, 28], filter: "bicubic" },
  { name: "to one pixel high", src: [40, 17], dst: [13, 1], filter: "bicubic" },
  { name: "large downscale (many taps)", src: [640, 480], dst: [56, 28], filter: "bicubic" },
  { name: "bilinear down", src: [97, 150], dst: [56, 84], filter: "bilinear" },
  { name: "bilinear up", src: [15, 9], dst: [44, 30], filter: "bilinear" },
];

/** Random bytes, with runs of 0 and 255 so that bicubic overshoot is clamped somewhere. */
export function randomPicture(width: number, height: number, seed: number): PixelBuffer {
  const random = rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    const r = random();
    data[i] = r < 0.1 ? 0 : r < 0.2 ? 255 : Math.floor(random() * 256);
  }
  return { width, height, channels: 3, data };
}

/** A photo-like picture: smooth gradients and edges with a little noise (what real pictures mostly are). */
export function photoLikePicture(width: number, height: number, seed: number): PixelBuffer {
  const random = rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x - width / 2) ** 2 + (y - height / 3) ** 2 < (width / 4) ** 2;
      for (let c = 0; c < 3; c++) {
        const base = inside ? 220 - 60 * c : (x * (c + 1) + y * (3 - c)) % 256;
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base + (random() - 0.5) * 24)));
      }
    }
  }
  return { width, height, channels: 3, data };
}

/** `picture` resized to `width` x `height` by the `resizeImage` op on `device`: its bytes. */
export async function resizeOnDevice(device: Device, picture: PixelBuffer, width: number, height: number, filter: ResampleFilter): Promise<Uint8Array> {
  const { horizontal, vertical } = resizeWeights(picture.width, picture.height, width, height, filter);
  const out = resizeImage(fromHost(device, packBytes(picture.data), { dtype: "I32" }), {
    srcWidth: picture.width, srcHeight: picture.height, width, height,
    horizontal: horizontal && uploadAxisWeights(device, horizontal, picture.width),
    vertical: vertical && uploadAxisWeights(device, vertical, picture.height),
  });
  const packed = await downloadInt32(out);
  return new Uint8Array(packed.buffer, packed.byteOffset, width * height * 3);
}
