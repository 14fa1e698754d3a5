/**
 * Errors of image loading: every failure is an IrisError "IMAGE_LOAD" that names the problem and the input, the input
 * cut to about 100 characters (a data URL or base64 string can be megabytes), as SGLang does in its messages.
 */
import { IrisError } from "../core/errors.js";

const MAX_DESCRIPTION_CHARS = 100;

/** A short printable description of any image input, for error messages. */
export function describeImageInput(input: unknown): string {
  if (typeof input === "string") {
    const flat = input.replace(/\s+/g, " ");
    return flat.length > MAX_DESCRIPTION_CHARS ? `"${flat.slice(0, MAX_DESCRIPTION_CHARS)}..." (${input.length} chars)` : `"${flat}"`;
  }
  if (input instanceof Uint8Array) return `<${input.length} bytes>`;
  if (input !== null && typeof input === "object") {
    const { width, height, channels } = input as Record<string, unknown>;
    if (width !== undefined || height !== undefined) return `<pixels ${String(width)}x${String(height)}x${String(channels ?? 3)}>`;
    return `<object with keys ${Object.keys(input).slice(0, 8).join(", ")}>`;
  }
  return `<${typeof input}>`;
}

export function imageLoadError(input: unknown, problem: string, cause?: unknown): IrisError {
  return new IrisError("IMAGE_LOAD", `cannot load image ${describeImageInput(input)}: ${problem}`, cause === undefined ? undefined : { cause });
}
