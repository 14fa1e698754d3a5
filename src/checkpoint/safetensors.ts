/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
 * and byte range, then the raw bytes. Files are read tensor by tensor through a file handle, never whole, so a
 * checkpoint larger than memory can be streamed onto a device.
 */
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";
import { DTYPE_BYTES, isDType, viewAs, type DType } from "../core/dtype.js";
import { IrisError } from "../core/errors.js";
import { hostTensor, numel, type HostTensor } from "../core/host-tensor.js";

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute byte offsets of the tensor's data in the file. */
  readonly begin: number;
  readonly end: number;
}

/** The largest header a well-formed file has in practice; a larger length means the file is not safetensors. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** One `readSync` call reads at most 2 GiB; larger tensors are read in pieces of this size. */
const READ_CHUNK_BYTES = 1 << 30;

function invalid(path: string, why: string): IrisError {
  return new IrisError("SAFETENSORS_INVALID", `${path} is not a valid safetensors file: ${why}`);
}

/** An open safetensors file: its header parsed and checked against the file size, its tensors read on demand. */
export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  private readCount = 0;
  private readonly tensors: Map<string, TensorInfo>;
  private fd: number | null;

  private constructor(path: string, fd: number, tensors: Map<string, TensorInfo>, metadata: Record<string, string>) {
    this.path = path;
    this.fd = fd;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (err) {
      throw new IrisError("MODEL_LOAD", `cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const { tensors, metadata } = readHeader(path, fd);
      return new SafetensorsFile(path, fd, tensors, metadata);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new IrisError("MODEL_LOAD", `${this.path} has no tensor named ${name}`);
    return info;
  }

  /** Reads one tensor's bytes into a fresh buffer. */
  readBytes(name: string): Uint8Array {
    const { begin, end } = this.info(name);
    const out = new Uint8Array(end - begin);
    this.readRange(name, out, 0, begin, out.length);
    return out;
  }

  /**
   * Indices `start .. start+length-1` along dim `dim` of a tensor (a tensor-parallel rank's shard), reading only
   * those bytes: one range for dim 0, one range per leading index otherwise.
   */
  readSlice(name: string, dim: number, start: number, length: number): HostTensor {
    const info = this.info(name);
    const { shape } = info;
    if (!(dim >= 0 && dim < shape.length && start >= 0 && length >= 0 && start + length <= shape[dim])) {
      throw new IrisError("MODEL_LOAD", `${name} [${shape.join(", ")}] has no slice ${start}..${start + length} along dim ${dim}`);
    }
    const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1) * DTYPE_BYTES[info.dtype];
    const outer = shape.slice(0, dim).reduce((a, b) => a * b, 1);
    const out = new Uint8Array(outer * length * inner);
    for (let o = 0; o < outer; o++) {
      this.readRange(name, out, o * length * inner, info.begin + (o * shape[dim] + start) * inner, length * inner);
    }
    const sliced = shape.map((d, i) => (i === dim ? length : d));
    return hostTensor(info.dtype, sliced, viewAs(info.dtype, out));
  }

  /** Bytes read from the file so far (tests check that a rank reads only its shard). */
  get bytesRead(): number {
    return this.readCount;
  }

  private readRange(name: string, out: Uint8Array, at: number, position: number, bytes: number): void {
    for (let done = 0; done < bytes; ) {
      const want = Math.min(READ_CHUNK_BYTES, bytes - done);
      const got = readSync(this.handle(), out, at + done, want, position + done);
      if (got === 0) throw invalid(this.path, `tensor ${name} ends past the end of the file`);
      done += got;
    }
    this.readCount += bytes;
  }

  read(name: string): HostTensor {
    const info = this.info(name);
    return hostTensor(info.dtype, info.shape, viewAs(info.dtype, this.readBytes(name)));
  }

  /** Reads every tensor; for small files such as processor outputs and reference fixtures. */
  readAll(): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const name of this.tensors.keys()) out[name] = this.read(name);
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private handle(): number {
    if (this.fd === null) throw new IrisError("INTERNAL", `${this.path} was read after it was closed`);
    return this.fd;
  }
}

function readHeader(path: string, fd: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw invalid(path, `the file has ${fileSize} bytes, fewer than the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  readSync(fd, lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
    throw invalid(path, `the header claims ${headerLength} bytes but the file has ${fileSize} (truncated?)`);
  }
  const headerBytes = Buffer.alloc(headerLength);
  readSync(fd, headerBytes, 0, headerLength, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString("utf8"));
  } catch {
    throw invalid(path, "the header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw invalid(path, "the header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    tensors.set(name, parseEntry(path, name, entry, dataStart, fileSize));
  }
  checkDataLayout(path, [...tensors.values()], dataStart, fileSize);
  return { tensors, metadata };
}

/**
 * The format requires the tensors' byte ranges to tile the data section exactly: no overlap (two tensors aliasing
 * one range would load silently wrong), no hole, and the last range ending at the file's end.
 */
function checkDataLayout(path: string, tensors: readonly TensorInfo[], dataStart: number, fileSize: number): void {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  for (const t of sorted) {
    if (t.begin < at) throw invalid(path, `tensor ${t.name}'s data (bytes ${t.begin - dataStart}..${t.end - dataStart}) overlaps the tensor before it`);
    if (t.begin > at) throw invalid(path, `a hole of ${t.begin - at} bytes lies before tensor ${t.name}'s data`);
    at = t.end;
  }
  if (at !== fileSize) throw invalid(path, `the tensors' data ends at byte ${at} but the file has ${fileSize} bytes`);
}

function parseEntry(path: string, name: string, entry: unknown, dataStart: number, fileSize: number): TensorInfo {
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e?.dtype !== "string" || !isDType(e.dtype)) {
    throw invalid(path, `tensor ${name} has unsupported dtype ${JSON.stringify(e?.dtype)}`);
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalid(path, `tensor ${name} has a malformed shape ${JSON.stringify(shape)}`);
  }
  const offsets = e.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    throw invalid(path, `tensor ${name} has malformed data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = numel(shape) * DTYPE_BYTES[e.dtype];
  if (end - begin !== expected) {
    throw invalid(path, `tensor ${name} of shape [${shape.join(", ")}] ${e.dtype} needs ${expected} bytes, its offsets span ${end - begin}`);
  }
  if (dataStart + end > fileSize) {
    throw invalid(path, `tensor ${name} points past the end of the file (byte ${dataStart + end} of ${fileSize}; truncated?)`);
  }
  return { name, dtype: e.dtype, shape, begin: dataStart + begin, end: dataStart + end };
}

/** Reads every tensor of a small safetensors file (a processor output or a fixture). */
export function loadSafetensors(path: string): Record<string, HostTensor> {
  const file = SafetensorsFile.open(path);
  try {
    return file.readAll();
  } finally {
    file.close();
  }
}

/**
 * Writes tensors to a safetensors file in the layout Python's `safetensors` writes: wider dtypes first, then by name,
 * with the data 8-byte aligned, so every tensor can be viewed in place with its natural alignment.
 */
export function saveSafetensors(path: string, tensors: Record<string, HostTensor>, metadata?: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}

export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata?: Record<string, string>): Buffer {
  const names = Object.keys(tensors).sort(
    (a, b) => DTYPE_BYTES[tensors[b].dtype] - DTYPE_BYTES[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const bytes = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new IrisError("INVALID_ARGUMENT", `tensor ${name}: ${t.data.byteLength} bytes of data for shape [${t.shape.join(", ")}] ${t.dtype}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // the data starts 8-byte aligned
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const data = tensors[name].data;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}
