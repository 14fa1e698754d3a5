import type { DecodeBudget } from "./decode-budget.js";

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
  /** The largest image accepted, in pixels (width * height), against decompression bombs; a server may lower it. */
  readonly maxPixels?: number;
  // ==== Fences on where images may come from (as in SGLang, everything is allowed by default) ====
  /** `false` refuses local file paths (a server should not read its own disk for a client). Default true. */
  readonly allowLocalFiles?: boolean;
  /** When given, local files must lie (after symlinks) inside one of these directories. */
  readonly localFileDirs?: readonly string[];
  /** When given, URLs may only reach these host names (checked again on every redirect). */
  readonly allowedHosts?: readonly string[];
  /**
   * `false` refuses URLs whose host resolves to a loopback, private, link-local or otherwise non-public address,
   * checked on the address actually connected to (after DNS resolution) and on every redirect. Default true.
   */
  readonly allowPrivateNetwork?: boolean;
}

/** Images that several requests of one call share, processed once for all of them (multimodal/shared-images.ts). */
export interface ImageShare {
  /** What `make` gives for `image` (of this `kind` of output), made once; null where no other request has the image. */
  once<T>(image: unknown, kind: string, make: () => Promise<T>): Promise<T> | null;
}

/** What a single image load runs under besides its options: not cloneable, so never sent to a worker as is. */
export interface LoadContext {
  /** The call's shared images. */
  readonly shared?: ImageShare;
  /** The engine's budget for decodes in flight; each image takes a lease on it while it is decoded and processed. */
  readonly decodeBudget?: DecodeBudget;
  /** Aborts the load (a download, a file read) at once; the load rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Called with an estimate of a decode's peak memory once the image's size is known, before it is decoded; resolves
   * when the decode may go ahead (see `DecodeBudget`).
   */
  readonly reserveDecode?: (bytes: number) => Promise<void>;
}

/** The options of one image load together with its context, as processors and featurizers pass them on. */
export type ImageLoadRequest = LoadImageOptions & LoadContext;

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
  readonly imageOptions?: ImageLoadRequest;
}
