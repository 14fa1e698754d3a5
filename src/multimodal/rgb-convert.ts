/**
 * Conversion of decoded pixels to 8-bit RGB the way PIL's `Image.convert("RGB")` does it, since the reference
 * processors call that on every image:
 * - grey (L) is copied to R, G and B; grey + alpha (LA) likewise, the alpha dropped;
 * - RGBA drops the alpha with no compositing onto a background;
 * - 16-bit data: PIL opens 16-bit RGB, RGBA and LA images by keeping the high byte of each sample, and a 16-bit grey
 *   image as mode "I;16", whose conversion to RGB clips each value to 0..255 (it does not scale).
 * - CMYK (JPEG, TIFF) uses PIL's plain formula, no colour profile: `(255 - k) - c * (255 - k) / 255` per channel.
 * Palette images are expanded by the decoder before they get here.
 */
import type { RgbImage } from "./image-types.js";

export interface RawPixels {
  readonly width: number;
  readonly height: number;
  /** 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). */
  readonly channels: number;
  /** One sample per element: 8-bit samples in a Uint8Array, 16-bit ones in a Uint16Array. */
  readonly data: Uint8Array | Uint8ClampedArray | Uint16Array;
}

function eightBitSamples(src: RawPixels): Uint8Array | Uint8ClampedArray {
  if (!(src.data instanceof Uint16Array)) return src.data;
  const data = src.data;
  const out = new Uint8Array(data.length);
  if (src.channels === 1) {
    for (let i = 0; i < data.length; i++) out[i] = data[i] > 255 ? 255 : data[i];
  } else {
    for (let i = 0; i < data.length; i++) out[i] = data[i] >> 8;
  }
  return out;
}

/** Interleaved RGB uint8 from 1 to 4 channels of 8- or 16-bit samples; `data.length` must match the shape. */
export function toRgb(src: RawPixels): RgbImage {
  const { width, height, channels } = src;
  const samples = eightBitSamples(src);
  const pixels = width * height;
  // NOTE: three channels are returned without a copy (as a plain Uint8Array view, also of a Buffer); callers that
  // hand in memory they do not own copy it first.
  if (channels === 3) return { width, height, data: new Uint8Array(samples.buffer, samples.byteOffset, samples.length) };
  const out = new Uint8Array(pixels * 3);
  if (channels === 1 || channels === 2) {
    for (let i = 0, s = 0, o = 0; i < pixels; i++, s += channels, o += 3) {
      const v = samples[s];
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else {
    for (let i = 0, s = 0, o = 0; i < pixels; i++, s += 4, o += 3) {
      out[o] = samples[s];
      out[o + 1] = samples[s + 1];
      out[o + 2] = samples[s + 2];
    }
  }
  return { width, height, data: out };
}

/** PIL's `cmyk2rgb`: R = (255 - K) - C * (255 - K) / 255 (its MULDIV255 rounding), likewise G from M and B from Y. */
export function cmykToRgb(width: number, height: number, cmyk: Uint8Array): RgbImage {
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  for (let i = 0, s = 0, o = 0; i < pixels; i++, s += 4, o += 3) {
    const nk = 255 - cmyk[s + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[s + c] * nk + 128;
      const v = nk - (((t >> 8) + t) >> 8);
      out[o + c] = v < 0 ? 0 : v;
    }
  }
  return { width, height, data: out };
}
