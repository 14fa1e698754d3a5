/**
 * Reading a local image file so that no path can hang or flood the engine. Only regular files are read: a FIFO
 * would block its read forever, holding one of the few threads of Node's shared I/O pool (four of them stall every
 * image decode in the process), and /dev/zero never ends. The size is checked against `maxBytes` before anything is
 * read, then the format's header, and only then the body, under the same time limit as a download.
 */
import { constants, type Stats } from "node:fs";
import { open, realpath, stat, type FileHandle } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { isIrisError } from "../core/errors.js";
import { sniffImageFormat } from "./image-decode.js";
import { imageLoadError } from "./image-errors.js";

export interface FileReadLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** When given, the file (after symlinks) must lie inside one of these directories. */
  readonly allowedDirs?: readonly string[];
  readonly signal?: AbortSignal;
}

/** Enough bytes to recognize every supported format (WebP needs 12). */
const HEADER_BYTES = 16;
const CHUNK_BYTES = 1 << 20;

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a named pipe (FIFO)";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  return "something other than a regular file";
}

function checkRegular(path: string, stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) throw imageLoadError(path, `is ${kindOf(stats)}: only regular files are read as images`);
  if (stats.size > maxBytes) throw imageLoadError(path, `file too large: ${stats.size} bytes exceeds the limit of ${maxBytes} (option maxBytes)`);
}

function fileProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === "ENOENT") return "file not found";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return `cannot read file (${code ?? (err as Error).message})`;
}

async function checkConfined(path: string, dirs: readonly string[]): Promise<void> {
  const real = await realpath(path);
  for (const dir of dirs) {
    const root = await realpath(resolve(dir)).catch(() => undefined);
    if (root !== undefined && (real === root || real.startsWith(root.endsWith(sep) ? root : root + sep))) return;
  }
  throw imageLoadError(path, `outside the directories local images may come from (option localFileDirs: ${dirs.join(", ")})`);
}

async function readAt(handle: FileHandle, out: Uint8Array, from: number, to: number, deadline: () => void): Promise<number> {
  let at = from;
  while (at < to) {
    deadline();
    const { bytesRead } = await handle.read(out, at, Math.min(CHUNK_BYTES, to - at), at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return at;
}

async function readChecked(path: string, limits: FileReadLimits, deadline: () => void): Promise<Uint8Array> {
  checkRegular(path, await stat(path), limits.maxBytes);
  if (limits.allowedDirs) await checkConfined(path, limits.allowedDirs);
  // NOTE: O_NONBLOCK so that a path swapped for a FIFO after the stat cannot block the open; fstat then checks
  // the file actually opened.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    checkRegular(path, stats, limits.maxBytes);
    const out = new Uint8Array(stats.size);
    const headerEnd = await readAt(handle, out, 0, Math.min(HEADER_BYTES, stats.size), deadline);
    if (sniffImageFormat(out.subarray(0, headerEnd)) === undefined) {
      throw imageLoadError(path, headerEnd === 0 ? "not an image: the file is empty" : "not an image: unrecognized data (supported formats: PNG, JPEG, WebP, GIF, BMP, TIFF)");
    }
    const end = await readAt(handle, out, headerEnd, stats.size, deadline);
    return end === stats.size ? out : out.subarray(0, end);
  } finally {
    await handle.close();
  }
}

/** The bytes of an image file; every failure, the time limit and an abort included, is an IrisError IMAGE_LOAD. */
export async function readImageFile(path: string, limits: FileReadLimits): Promise<Uint8Array> {
  const started = Date.now();
  let settle: ((err: Error) => void) | undefined;
  const stopped = new Promise<never>((_, reject) => (settle = reject));
  const timedOut = () => imageLoadError(path, `reading the file timed out after ${limits.timeoutMs} ms (option timeoutMs)`);
  const deadline = () => {
    if (limits.signal?.aborted) throw limits.signal.reason;
    if (Date.now() - started > limits.timeoutMs) throw timedOut();
  };
  // A read that stalls (a hung network mount) still settles the request on time; the read ends on its own.
  const timer = setTimeout(() => settle?.(timedOut()), limits.timeoutMs);
  const onAbort = () => settle?.(limits.signal!.reason as Error);
  limits.signal?.addEventListener("abort", onAbort, { once: true });
  const reading = readChecked(path, limits, deadline).catch((err: unknown) => {
    if (isIrisError(err) || err === limits.signal?.reason) throw err;
    throw imageLoadError(path, fileProblem(err), err);
  });
  reading.catch(() => undefined);
  try {
    return await Promise.race([reading, stopped]);
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener("abort", onAbort);
  }
}
