import { IrisError } from "../../core/errors.js";
import type { TensorDType } from "../dtype.js";
import type { Storage } from "../tensor.js";
import type { CudaAddon } from "./addon.js";
import { CudaStorage, ELEMENT_BYTES } from "./storage.js";

/** A bump allocator over one block of device memory for one step's intermediates (the runner-seam contract). */
export interface Arena {
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly peakBytes: number;
  /** Storage of `length` elements at the next 256-byte-aligned offset; OUT_OF_MEMORY IrisError past capacity. */
  allocate(dtype: TensorDType, length: number): Storage;
  /** Every storage drawn so far becomes dead (`alive` false); memory is reused from offset 0. */
  reset(): void;
  /** Gives the block back to the general allocator. */
  destroy(): void;
}

const ALIGNMENT = 256;

/**
 * The cuda arena: one block from the caching allocator, handed out by offset. Addresses repeat from step to step
 * (the same allocation order gives the same offsets), which is what CUDA-graph replay needs. Resetting while
 * kernels still read the block is safe: every later user is ordered after them on the device's one stream.
 */
export class CudaArena implements Arena {
  readonly capacityBytes: number;
  private base: number;
  private used = 0;
  private peak = 0;
  private drawn: CudaStorage[] = [];
  private readonly addon: CudaAddon;

  constructor(addon: CudaAddon, capacityBytes: number) {
    if (!Number.isInteger(capacityBytes) || capacityBytes <= 0) {
      throw new IrisError("INVALID_ARGUMENT", `an arena needs a positive whole number of bytes, got ${capacityBytes}`);
    }
    this.addon = addon;
    this.capacityBytes = capacityBytes;
    this.base = addon.malloc(capacityBytes);
  }

  get usedBytes(): number {
    return this.used;
  }

  get peakBytes(): number {
    return this.peak;
  }

  allocate(dtype: TensorDType, length: number): Storage {
    if (this.base === 0) throw new IrisError("INTERNAL", "internal error: allocation from a destroyed arena");
    const offset = Math.ceil(this.used / ALIGNMENT) * ALIGNMENT;
    const bytes = length * ELEMENT_BYTES[dtype];
    if (offset + bytes > this.capacityBytes) {
      throw new IrisError("OUT_OF_MEMORY",
        `the step arena of ${this.capacityBytes} bytes is full: ${bytes} more bytes needed at offset ${offset}`);
    }
    const storage = new CudaStorage(dtype, length, this.base + offset, this);
    this.drawn.push(storage);
    this.used = offset + bytes;
    this.peak = Math.max(this.peak, this.used);
    return storage;
  }

  reset(): void {
    for (const storage of this.drawn) storage.alive = false;
    this.drawn = [];
    this.used = 0;
  }

  destroy(): void {
    this.reset();
    if (this.base !== 0) this.addon.free(this.base);
    this.base = 0;
  }
}
