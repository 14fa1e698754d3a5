/**
 * Download of image URLs: http and https only, redirects followed by hand (at most 20) so that every hop is checked
 * against the fences (`allowedHosts`, and public addresses only when `allowPrivateNetwork` is false, checked on the
 * address connected to), one time limit for the whole transfer, an abort signal, and a size limit checked against
 * Content-Length before reading and against the bytes as they arrive (a server may send no length, or a false one).
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { isIrisError } from "../core/errors.js";
import { imageLoadError } from "./image-errors.js";
import { isPublicAddress, NonPublicAddressError, publicOnlyLookup } from "./public-address.js";

export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  /** When given, only these host names may be reached, on the first request and on every redirect. */
  readonly allowedHosts?: readonly string[];
  /** `false`: only public addresses may be reached (see public-address.ts). Default true. */
  readonly allowPrivateNetwork?: boolean;
}

const MAX_REDIRECTS = 20;

function networkProblem(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === "TimeoutError") return `download timed out after ${timeoutMs} ms (option timeoutMs)`;
  if (err instanceof NonPublicAddressError) return err.message;
  return `URL unreachable: ${e.code ?? e.message ?? String(err)}`;
}

function checkFences(url: URL, original: string, limits: FetchLimits): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw imageLoadError(original, `unsupported URL scheme ${url.protocol} (only http and https are fetched)`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (limits.allowedHosts && !limits.allowedHosts.some((h) => h.toLowerCase() === host)) {
    throw imageLoadError(original, `host ${host} is not among the allowed hosts (option allowedHosts)${url.href === original ? "" : ` (redirected to ${url.href})`}`);
  }
  // An address literal is connected to without a lookup, so it is checked here.
  if (limits.allowPrivateNetwork === false && isIP(host) !== 0 && !isPublicAddress(host)) {
    throw imageLoadError(original, `${host} is a loopback, private or otherwise non-public address (option allowPrivateNetwork)`);
  }
}

function get(url: URL, limits: FetchLimits, signal: AbortSignal): Promise<IncomingMessage> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const lookup = limits.allowPrivateNetwork === false ? publicOnlyLookup : undefined;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: "GET", signal, lookup, headers: { accept: "image/*,*/*;q=0.8" } }, resolve);
    req.on("error", reject);
    req.end();
  });
}

async function readLimited(response: IncomingMessage, maxBytes: number, url: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      response.destroy();
      throw imageLoadError(url, `download too large: more than ${maxBytes} bytes (option maxBytes)`);
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

async function download(original: string, limits: FetchLimits, signal: AbortSignal): Promise<Uint8Array> {
  let url: URL;
  try {
    url = new URL(original);
  } catch (err) {
    throw imageLoadError(original, "invalid URL", err);
  }
  for (let hop = 0; ; hop++) {
    checkFences(url, original, limits);
    const response = await get(url, limits, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (hop === MAX_REDIRECTS) throw imageLoadError(original, `more than ${MAX_REDIRECTS} redirects`);
      url = new URL(location, url);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw imageLoadError(original, `HTTP error ${status}${response.statusMessage ? ` ${response.statusMessage}` : ""}`);
    }
    const declared = Number(response.headers["content-length"] ?? NaN);
    if (declared > limits.maxBytes) {
      response.destroy();
      throw imageLoadError(original, `download too large: ${declared} bytes exceeds the limit of ${limits.maxBytes} (option maxBytes)`);
    }
    return readLimited(response, limits.maxBytes, original);
  }
}

/** The body of an http(s) URL; every failure is an IrisError IMAGE_LOAD naming the URL, an abort its signal's reason. */
export async function fetchImageBytes(url: string, limits: FetchLimits): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([limits.signal, timeout]) : timeout;
  try {
    return await download(url, limits, signal);
  } catch (err) {
    if (limits.signal?.aborted) throw limits.signal.reason;
    if (isIrisError(err)) throw err;
    throw imageLoadError(url, networkProblem(timeout.aborted ? timeout.reason : err, limits.timeoutMs), err);
  }
}
