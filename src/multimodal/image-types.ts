/**
 * The image types of the multimodal layer: what a user may pass as an image, and the decoded form every processor
 * works on.
 */

/** A decoded image: interleaved (HWC) 8-bit RGB, `data.length === width * height * 3`. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Pixels the caller already decoded: interleaved 8-bit samples, 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels. */
export interface DecodedPixels {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  /** Defaults to 3, so an `RgbImage` is accepted as is. */
  readonly channels?: 1 | 2 | 3 | 4;
}

/**
 * Anything `loadImage` accepts: a file path, an http(s) URL, a `data:` URL, a bare base64 string, the bytes of an
 * encoded image (PNG, JPEG, WebP, GIF, BMP, TIFF) as a Buffer or Uint8Array, or decoded pixels.
 */
export type ImageInput = string | Uint8Array | DecodedPixels;

export interface LoadImageOptions {
  /** Whole-download time limit for URLs, in milliseconds. */
  readonly timeoutMs?: number;
  /** The largest download accepted, in bytes. */
  readonly maxBytes?: number;
  /** The largest image accepted, in pixels (width * height), against decompression bombs. */
  readonly maxPixels?: number;
}

/** 10 s for the whole download (SGLang gives each socket operation 3 s). */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** SGLang's `media_url_max_file_size_mb` default. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** PIL's `Image.MAX_IMAGE_PIXELS`: int(1024 * 1024 * 1024 // 4 // 3). */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/** What a processor takes: a prompt already rendered with the chat template, one placeholder per image, and the images. */
export interface ProcessorRequest {
  readonly text: string;
  readonly images?: readonly ImageInput[];
  readonly imageOptions?: LoadImageOptions;
}
