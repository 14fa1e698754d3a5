import { IrisError } from "../../core/errors.js";
import type { TensorDType } from "../dtype.js";
import type { ArenaLease } from "../stack-arena.js";
import type { Storage, Tensor } from "../tensor.js";

/** Bytes per element of each device dtype. */
export const ELEMENT_BYTES: Readonly<Record<TensorDType, number>> = { F32: 4, BF16: 2, F16: 2, F8_E4M3: 1, I32: 4 };

/**
 * Storage of the cuda backend: a device address and its size. Either a block of the addon's caching allocator
 * (`lease` null) or a slice of an arena's block, alive while the arena's lease is.
 */
export class CudaStorage implements Storage {
  readonly bytes: number;
  private released = false;

  constructor(readonly dtype: TensorDType, readonly length: number, readonly ptr: number, readonly lease: ArenaLease | null) {
    this.bytes = length * ELEMENT_BYTES[dtype];
  }

  get alive(): boolean {
    return !this.released && (this.lease === null || this.lease.alive);
  }

  /** Marks a general-allocator storage released (its block is freed by the caller). */
  markReleased(): void {
    this.released = true;
  }
}

/** The device address of a tensor's first element; throws for foreign or released storage. */
export function devicePtr(t: Tensor): number {
  const s = t.storage;
  if (!(s instanceof CudaStorage)) throw new IrisError("INTERNAL", `internal error: ${t} does not hold cuda storage`);
  if (!s.alive) throw new IrisError("INTERNAL", `internal error: ${t} is used after its storage was released`);
  return s.ptr + t.offset * ELEMENT_BYTES[s.dtype];
}

/** devicePtr, or 0 (the addon's null) for an absent optional tensor. */
export function optionalPtr(t: Tensor | null | undefined): number {
  return t === null || t === undefined ? 0 : devicePtr(t);
}

/** A tensor's size in bytes. */
export function byteSize(t: Tensor): number {
  return t.numel * ELEMENT_BYTES[t.dtype];
}
