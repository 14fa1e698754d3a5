/**
 * Download of image URLs: http and https only, redirects followed (fetch's limit of 20), one time limit for the
 * whole transfer, and a size limit checked against Content-Length before reading and against the bytes as they
 * arrive (a server may send no length, or a false one).
 */
import { isIrisError } from "../core/errors.js";
import { imageLoadError } from "./image-errors.js";

export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

function networkProblem(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `download timed out after ${timeoutMs} ms (option timeoutMs)`;
  const detail = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
  return `URL unreachable: ${detail}`;
}

async function readLimited(body: ReadableStream<Uint8Array>, maxBytes: number, url: string): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw imageLoadError(url, `download too large: more than ${maxBytes} bytes (option maxBytes)`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** The body of an http(s) URL; every failure is an IrisError IMAGE_LOAD naming the URL. */
export async function fetchImageBytes(url: string, limits: FetchLimits): Promise<Uint8Array> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw imageLoadError(url, "invalid URL", err);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw imageLoadError(url, `unsupported URL scheme ${parsed.protocol} (only http and https are fetched)`);
  }
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let response: Response;
  try {
    response = await fetch(parsed, { redirect: "follow", signal });
  } catch (err) {
    throw imageLoadError(url, networkProblem(err, limits.timeoutMs), err);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw imageLoadError(url, `HTTP error ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  }
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > limits.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw imageLoadError(url, `download too large: ${declared} bytes exceeds the limit of ${limits.maxBytes} (option maxBytes)`);
  }
  if (response.body === null) return new Uint8Array(0);
  try {
    return await readLimited(response.body, limits.maxBytes, url);
  } catch (err) {
    if (isIrisError(err)) throw err;
    throw imageLoadError(url, networkProblem(err, limits.timeoutMs), err);
  }
}
