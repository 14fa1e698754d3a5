/**
 * Hand-built PNG and BMP files for the image-loading tests: every byte is under the test's control (bit depth,
 * palette, transparency, row order), so the expected pixels follow from the file formats, not from a decoder.
 */
import { crc32, deflateSync } from "node:zlib";

export type PngColorType = 0 | 2 | 3 | 4 | 6;

export interface PngSpec {
  width: number;
  height: number;
  colorType: PngColorType;
  bitDepth: 8 | 16;
  /** Samples in row-major order, one number per sample (16-bit samples as 0..65535). */
  samples: ArrayLike<number>;
  /** For colour type 3: RGB triplets. */
  palette?: number[];
  /** For colour type 3: alpha per palette entry. */
  transparency?: number[];
}

const CHANNELS: Record<PngColorType, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

export function encodePng(spec: PngSpec): Buffer {
  const { width, height, colorType, bitDepth, samples } = spec;
  const bytesPerSample = bitDepth / 8;
  const rowBytes = width * CHANNELS[colorType] * bytesPerSample;
  const raw = Buffer.alloc(height * (rowBytes + 1));
  let s = 0;
  for (let y = 0; y < height; y++) {
    let at = y * (rowBytes + 1) + 1; // filter byte 0 (none) first
    for (let i = 0; i < width * CHANNELS[colorType]; i++, s++) {
      if (bytesPerSample === 2) raw.writeUInt16BE(samples[s], at);
      else raw[at] = samples[s];
      at += bytesPerSample;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)];
  if (spec.palette) parts.push(chunk("PLTE", Uint8Array.from(spec.palette)));
  if (spec.transparency) parts.push(chunk("tRNS", Uint8Array.from(spec.transparency)));
  parts.push(chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** A random RGB image, HWC. */
export function randomRgb(width: number, height: number, seed = 1): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) & 255;
  }
  return out;
}

export interface BmpSpec {
  width: number;
  height: number;
  bitsPerPixel: 1 | 4 | 8 | 16 | 24 | 32;
  /** Pixel data of each row, top row first, already packed for the bit depth (no padding). */
  rows: Uint8Array[];
  /** BGRA palette entries for 1/4/8 bits. */
  palette?: [number, number, number][];
  /** Store the rows top-down (negative height) instead of bottom-up. */
  topDown?: boolean;
  /** BI_BITFIELDS masks (R, G, B); compression 3 when given. */
  masks?: [number, number, number];
  /** Replace the pixel data by this RLE stream with the given compression (1 = RLE8, 2 = RLE4). */
  rle?: { compression: 1 | 2; data: number[] };
}

export function encodeBmp(spec: BmpSpec): Buffer {
  const { width, height, bitsPerPixel: bpp } = spec;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const paletteBytes = (spec.palette?.length ?? 0) * 4;
  const maskBytes = spec.masks ? 12 : 0;
  let pixels: Buffer;
  if (spec.rle) {
    pixels = Buffer.from(spec.rle.data);
  } else {
    pixels = Buffer.alloc(stride * height);
    spec.rows.forEach((row, y) => {
      const stored = spec.topDown ? y : height - 1 - y;
      Buffer.from(row).copy(pixels, stored * stride);
    });
  }
  const offset = 14 + 40 + maskBytes + paletteBytes;
  const file = Buffer.alloc(offset + pixels.length);
  file.write("BM", 0, "latin1");
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(offset, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(spec.topDown ? -height : height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(bpp, 28);
  file.writeUInt32LE(spec.rle ? spec.rle.compression : spec.masks ? 3 : 0, 30);
  file.writeUInt32LE(pixels.length, 34);
  file.writeUInt32LE(spec.palette?.length ?? 0, 46);
  let at = 54;
  if (spec.masks) for (const m of spec.masks) { file.writeUInt32LE(m >>> 0, at); at += 4; }
  for (const [b, g, r] of spec.palette ?? []) {
    file[at] = b; file[at + 1] = g; file[at + 2] = r;
    at += 4;
  }
  pixels.copy(file, offset);
  return file;
}
