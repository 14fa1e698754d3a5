/**
 * `loadImage`: every image input a user may pass, resolved to RGB pixels. Strings are told apart as SGLang's
 * `load_image` does: http(s) URLs, then `data:` URLs, then existing files, then bare base64; a string that names no
 * file and is not base64 is reported as a missing file when it looks like a path, else as bad base64. Local files are
 * read by `readImageFile` (regular files only, size-capped, timed); fences on local files and hosts are options.
 */
import { existsSync } from "node:fs";
import { decodeImageBytes } from "./image-decode.js";
import { imageLoadError } from "./image-errors.js";
import { fetchImageBytes } from "./image-fetch.js";
import { readImageFile } from "./image-file.js";
import {
  DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT_MS,
  type DecodedPixels, type ImageInput, type ImageLoadRequest, type RgbImage,
} from "./image-types.js";
import { toRgb } from "./rgb-convert.js";

const IMAGE_FILE_EXTENSION = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;
// Strict, as Python's b64decode(validate=True): only the alphabet, correct padding, no whitespace inside.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string, input: unknown): Uint8Array {
  const compact = text.trim();
  if (compact.length === 0 || !BASE64.test(compact)) {
    throw imageLoadError(input, "invalid base64: expected standard base64 characters with correct padding");
  }
  const buf = Buffer.from(compact, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

function decodeDataUrl(url: string): Uint8Array {
  const comma = url.indexOf(",");
  if (comma < 0) throw imageLoadError(url, "malformed data URL: no comma before the data");
  const header = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  if (/;base64$/i.test(header)) return decodeBase64(payload, url);
  try {
    return new Uint8Array(Buffer.from(decodeURIComponent(payload), "latin1"));
  } catch (err) {
    throw imageLoadError(url, "malformed data URL: bad percent-encoding", err);
  }
}

function looksLikePath(text: string): boolean {
  return /^(\.{0,2}\/|~|file:|[A-Za-z]:\\)/.test(text) || text.includes("\\") || /\.[A-Za-z0-9]{1,5}$/.test(text);
}

function fromPixels(pixels: DecodedPixels, maxPixels: number): RgbImage {
  const { width, height, data } = pixels;
  const channels = pixels.channels ?? 3;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw imageLoadError(pixels, `invalid pixel size ${String(width)}x${String(height)}: width and height must be positive integers`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw imageLoadError(pixels, `invalid channel count ${String(channels)}: expected 1, 2, 3 or 4`);
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw imageLoadError(pixels, "pixel data must be a Uint8Array, Buffer or Uint8ClampedArray of 8-bit samples");
  }
  if (width * height > maxPixels) throw imageLoadError(pixels, `image too large: ${width * height} pixels exceeds the limit of ${maxPixels} (option maxPixels)`);
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw imageLoadError(pixels, `wrong pixel buffer length ${data.length}: ${width}x${height}x${channels} needs ${expected} bytes`);
  }
  // Copy: the caller keeps its buffer, and the image we return must not change under us.
  return toRgb({ width, height, channels, data: Uint8Array.from(data) });
}

function isDecodedPixels(input: unknown): input is DecodedPixels {
  return input !== null && typeof input === "object" && !(input instanceof Uint8Array) && "data" in input;
}

/** Loads any supported image input as RGB pixels. Every failure is an IrisError with code "IMAGE_LOAD". */
export async function loadImage(input: ImageInput, options: ImageLoadRequest = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const limits = { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES, signal: options.signal };
  const decode = (bytes: Uint8Array) => decodeImageBytes(bytes, input, maxPixels, options.reserveDecode);
  if (input instanceof Uint8Array) return decode(input);
  if (isDecodedPixels(input)) return fromPixels(input, maxPixels);
  if (typeof input !== "string") {
    throw imageLoadError(input, "unsupported image input: expected a path, URL, data URL, base64 string, encoded bytes or decoded pixels");
  }
  if (/^https?:\/\//i.test(input)) return decode(await fetchImageBytes(input, { ...limits, allowedHosts: options.allowedHosts, allowPrivateNetwork: options.allowPrivateNetwork }));
  if (/^data:/i.test(input)) return decode(decodeDataUrl(input));
  // Any other URL scheme (file://, ftp://, ...) is refused by name rather than looked up as a file.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(input);
  if (scheme) throw imageLoadError(input, `unsupported URL scheme "${scheme[1].toLowerCase()}://": give an http(s) URL, a data URL, or a plain file path`);
  if (input.length === 0) throw imageLoadError(input, "empty string");
  const localFiles = options.allowLocalFiles ?? true;
  if (localFiles && existsSync(input)) return decode(await readImageFile(input, { ...limits, allowedDirs: options.localFileDirs }));
  // NOTE: base64 has no '.', so an image extension means a path; JPEG base64 starts with "/9j/", so a leading '/'
  // alone does not.
  const noFile = localFiles ? "file not found" : "local file paths are turned off (option allowLocalFiles)";
  if (IMAGE_FILE_EXTENSION.test(input)) throw imageLoadError(input, noFile);
  if (BASE64.test(input.trim())) return decode(decodeBase64(input, input));
  if (looksLikePath(input)) throw imageLoadError(input, noFile);
  throw imageLoadError(input, `not ${localFiles ? "an existing file, " : ""}an http(s) URL, a data URL, nor valid base64`);
}
