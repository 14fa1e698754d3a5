import { IrisError } from "../../core/errors.js";
import { DTYPE_BYTES } from "../../core/dtype.js";
import type { TensorDType } from "../dtype.js";
import type { ArenaLease } from "../stack-arena.js";
import type { Storage, Tensor } from "../tensor.js";

export type CpuArray = Float32Array | Int32Array | Uint16Array | Uint8Array;

/** A typed array of `dtype` over `buffer` (16-bit floats as raw bits, which only casts and copies read; FP8 bytes). */
function typedArray(dtype: TensorDType, buffer: ArrayBuffer, byteOffset: number, length: number): CpuArray {
  if (dtype === "I32") return new Int32Array(buffer, byteOffset, length);
  if (dtype === "F32") return new Float32Array(buffer, byteOffset, length);
  if (dtype === "F8_E4M3") return new Uint8Array(buffer, byteOffset, length);
  return new Uint16Array(buffer, byteOffset, length);
}

/**
 * Storage of the cpu backend: a plain typed array (Float32Array for F32, Int32Array for I32, Uint16Array for the
 * bits of BF16 and F16, Uint8Array for FP8 bytes), either its own or a range of an arena's block, alive while the arena's lease is.
 */
export class CpuStorage implements Storage {
  private released = false;

  private constructor(readonly dtype: TensorDType, readonly length: number, public data: CpuArray,
    readonly lease: ArenaLease | null) {}

  static allocate(dtype: TensorDType, length: number): CpuStorage {
    return new CpuStorage(dtype, length, typedArray(dtype, new ArrayBuffer(length * DTYPE_BYTES[dtype]), 0, length), null);
  }

  static inBlock(block: ArrayBuffer, byteOffset: number, dtype: TensorDType, length: number, lease: ArenaLease): CpuStorage {
    return new CpuStorage(dtype, length, typedArray(dtype, block, byteOffset, length), lease);
  }

  get alive(): boolean {
    return !this.released && (this.lease === null || this.lease.alive);
  }

  get bytes(): number {
    return this.length * DTYPE_BYTES[this.dtype];
  }

  release(): void {
    this.released = true;
    // Drop the array so the memory goes back to the garbage collector even while views survive.
    this.data = new Float32Array(0);
  }
}

function storageOf(t: Tensor): CpuStorage {
  const s = t.storage;
  if (!(s instanceof CpuStorage)) throw new IrisError("INTERNAL", `internal error: ${t} does not hold cpu storage`);
  if (!s.alive) throw new IrisError("INTERNAL", `internal error: ${t} is used after its storage was released`);
  return s;
}

/** The elements of an F32 tensor as a Float32Array view (no copy). */
export function f32(t: Tensor): Float32Array {
  const s = storageOf(t);
  if (!(s.data instanceof Float32Array)) throw new IrisError("INTERNAL", `internal error: ${t} is not F32`);
  return s.data.subarray(t.offset, t.offset + t.numel);
}

/** The elements of an I32 tensor as an Int32Array view (no copy). */
export function i32(t: Tensor): Int32Array {
  const s = storageOf(t);
  if (!(s.data instanceof Int32Array)) throw new IrisError("INTERNAL", `internal error: ${t} is not I32`);
  return s.data.subarray(t.offset, t.offset + t.numel);
}

/** The raw 16-bit patterns of a BF16 or F16 tensor (no copy). */
export function halves(t: Tensor): Uint16Array {
  const s = storageOf(t);
  if (!(s.data instanceof Uint16Array)) throw new IrisError("INTERNAL", `internal error: ${t} is not a 16-bit float tensor`);
  return s.data.subarray(t.offset, t.offset + t.numel);
}

/** The bytes of an FP8 (F8_E4M3) tensor (no copy). */
export function bytes8(t: Tensor): Uint8Array {
  const s = storageOf(t);
  if (s.dtype !== "F8_E4M3" || !(s.data instanceof Uint8Array)) throw new IrisError("INTERNAL", `internal error: ${t} is not F8_E4M3`);
  return s.data.subarray(t.offset, t.offset + t.numel);
}

/** The elements of a tensor of any dtype, for kernels that only move data. */
export function elements(t: Tensor): CpuArray {
  const s = storageOf(t);
  return s.data.subarray(t.offset, t.offset + t.numel);
}

/** Throws INVALID_ARGUMENT for an index outside [0, limit): on cpu an out-of-range index is caught, not undefined. */
export function checkIndex(kernel: string, what: string, value: number, limit: number): void {
  if (!(value >= 0 && value < limit)) {
    throw new IrisError("INVALID_ARGUMENT", `${kernel}: ${what} ${value} is out of range [0, ${limit})`);
  }
}
