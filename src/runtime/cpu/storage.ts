import { IrisError } from "../../core/errors.js";
import type { TensorDType } from "../dtype.js";
import type { Storage, Tensor } from "../tensor.js";

/** Storage of the cpu backend: a plain typed array (Float32Array for F32, Int32Array for I32). */
export class CpuStorage implements Storage {
  readonly dtype: TensorDType;
  readonly length: number;
  alive = true;
  data: Float32Array | Int32Array;

  constructor(dtype: TensorDType, length: number) {
    this.dtype = dtype;
    this.length = length;
    this.data = dtype === "I32" ? new Int32Array(length) : new Float32Array(length);
  }

  release(): void {
    this.alive = false;
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

/** The elements of a tensor of either dtype, for kernels that only move data. */
export function elements(t: Tensor): Float32Array | Int32Array {
  const s = storageOf(t);
  return s.data.subarray(t.offset, t.offset + t.numel);
}

/** Throws INVALID_ARGUMENT for an index outside [0, limit): on cpu an out-of-range index is caught, not undefined. */
export function checkIndex(kernel: string, what: string, value: number, limit: number): void {
  if (!(value >= 0 && value < limit)) {
    throw new IrisError("INVALID_ARGUMENT", `${kernel}: ${what} ${value} is out of range [0, ${limit})`);
  }
}
