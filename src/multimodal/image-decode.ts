/**
 * Decoding of encoded image bytes to RGB. The format is recognized from the leading bytes, so only the formats the
 * reference pipeline (PIL) opens get through: PNG, JPEG, WebP, GIF and TIFF go to sharp (libvips), BMP to our own
 * decoder (this sharp build cannot read it). SVG, AVIF and the rest are refused as "not an image".
 *
 * Decoding follows PIL where sharp would differ: embedded ICC profiles are ignored (PIL does not apply them), the
 * EXIF orientation is not applied (PIL's `Image.open` does not), only the first frame of a GIF or TIFF is read.
 */
import sharp, { type Metadata } from "sharp";
import { BmpFormatError, bmpSize, decodeBmp } from "./bmp-decode.js";
import { imageLoadError } from "./image-errors.js";
import type { RgbImage } from "./image-types.js";
import { cmykToRgb, toRgb } from "./rgb-convert.js";

export type ImageFormat = "png" | "jpeg" | "webp" | "gif" | "bmp" | "tiff";

function startsWith(bytes: Uint8Array, signature: readonly number[], at = 0): boolean {
  if (bytes.length < at + signature.length) return false;
  return signature.every((b, i) => bytes[at + i] === b);
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** The format of encoded image bytes, or undefined when they are none of the supported ones. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "gif";
  if (startsWith(bytes, ascii("BM"))) return "bmp";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
  return undefined;
}

function checkPixelLimit(input: unknown, width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw imageLoadError(input, `image too large: ${width}x${height} = ${width * height} pixels exceeds the limit of ${maxPixels} (option maxPixels)`);
  }
}

/**
 * A decode's peak memory per pixel, for the decode budget: the decoder's raw output (up to 4 channels, 8 bits; 16-bit
 * images take twice that) and the 8-bit RGB copy. Measured: a 9000x9000 RGB PNG decoded and processed for
 * Qwen2.5-VL peaks at +247 MB, about 3 bytes per pixel, as the processor resizes from the 8-bit image.
 */
export const DECODE_BYTES_PER_PIXEL = 8;

type Reserve = ((bytes: number) => Promise<void>) | undefined;

async function decodeBmpChecked(bytes: Uint8Array, input: unknown, maxPixels: number, reserve: Reserve): Promise<RgbImage> {
  try {
    const { width, height } = bmpSize(bytes);
    checkPixelLimit(input, width, height, maxPixels);
    await reserve?.(width * height * DECODE_BYTES_PER_PIXEL);
    return decodeBmp(bytes);
  } catch (err) {
    if (err instanceof BmpFormatError) throw imageLoadError(input, `corrupt or unsupported BMP: ${err.message}`, err);
    throw err;
  }
}

async function decodeWithSharp(bytes: Uint8Array, format: ImageFormat, input: unknown, maxPixels: number, reserve: Reserve): Promise<RgbImage> {
  const label = format.toUpperCase();
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: "error", limitInputPixels: false, ignoreIcc: true }).metadata();
  } catch (err) {
    throw imageLoadError(input, `corrupt ${label} data: ${(err as Error).message}`, err);
  }
  const width = meta.width ?? 0, height = meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw imageLoadError(input, `corrupt ${label} data: no image size in the header`);
  // A multi-page GIF or TIFF reports the height of the first page in pageHeight.
  checkPixelLimit(input, width, meta.pageHeight ?? height, maxPixels);
  await reserve?.(width * (meta.pageHeight ?? height) * DECODE_BYTES_PER_PIXEL);

  const sixteenBit = meta.depth === "ushort";
  const cmyk = meta.space === "cmyk" && !sixteenBit;
  let data: Buffer, info: { width: number; height: number; channels: number };
  try {
    let pipeline = sharp(bytes, { failOn: "error", limitInputPixels: maxPixels, ignoreIcc: true, page: 0, pages: 1 });
    // NOTE: without an explicit 16-bit colour space sharp scales 16-bit samples down to 0..255 (and expands grey to
    // RGB); we need the raw 16-bit values to reduce them as PIL does.
    if (sixteenBit) pipeline = pipeline.toColourspace((meta.channels ?? 3) <= 2 ? "grey16" : "rgb16").raw({ depth: "ushort" });
    else if (cmyk) pipeline = pipeline.toColourspace("cmyk").raw(); // PIL converts CMYK without a profile: do it ourselves
    else pipeline = pipeline.raw();
    ({ data, info } = await pipeline.toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw imageLoadError(input, `corrupt ${label} data: ${(err as Error).message}`, err);
  }
  const { channels } = info;
  if (cmyk && channels === 4) return cmykToRgb(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (channels < 1 || channels > 4) throw imageLoadError(input, `unsupported ${label} with ${channels} channels`);
  const samples = sixteenBit
    ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return toRgb({ width: info.width, height: info.height, channels, data: samples });
}

/**
 * Decodes the bytes of an encoded image to RGB; `input` is only used in error messages. `reserve`, when given, is
 * awaited with the decode's memory estimate once the header gave the size, before the pixels are decoded.
 */
export async function decodeImageBytes(bytes: Uint8Array, input: unknown, maxPixels: number, reserve?: Reserve): Promise<RgbImage> {
  if (bytes.length === 0) throw imageLoadError(input, "not an image: the data is empty");
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw imageLoadError(input, "not an image: unrecognized data (supported formats: PNG, JPEG, WebP, GIF, BMP, TIFF)");
  }
  if (format === "bmp") return decodeBmpChecked(bytes, input, maxPixels, reserve);
  return decodeWithSharp(bytes, format, input, maxPixels, reserve);
}
