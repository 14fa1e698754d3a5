import { IrisError } from "../core/errors.js";
import type { Device } from "./device.js";
import type { TensorDType } from "./dtype.js";

/**
 * Memory that one backend allocated: plain typed arrays on cpu, a device pointer on cuda. Only the backend that
 * allocated it reads its contents; everything else sees this opaque description.
 */
export interface Storage {
  readonly dtype: TensorDType;
  /** Number of elements of `dtype` it holds. */
  readonly length: number;
  /** False once released to the allocator: a tensor over released storage must not be used again. */
  readonly alive: boolean;
}

function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new IrisError("INVALID_ARGUMENT", `tensor dimensions must be non-negative integers, got [${shape.join(", ")}]`);
    }
  }
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A dense, contiguous, row-major array of elements on a device. Views (`view`, `reshape`, `narrow`) share the
 * storage and cost nothing: a tensor is a storage, an element offset into it and a shape.
 *
 * NOTE: the views that exist keep every tensor contiguous, so kernels never deal with strides.
 */
export class Tensor {
  readonly device: Device;
  /** Backend-private memory; several tensors (views) may share one storage. */
  readonly storage: Storage;
  /** Offset of the first element in `storage`, in elements. */
  readonly offset: number;
  readonly shape: readonly number[];
  readonly numel: number;

  constructor(device: Device, storage: Storage, shape: readonly number[], offset = 0) {
    checkShape(shape);
    this.device = device;
    this.storage = storage;
    this.offset = offset;
    this.shape = Object.freeze([...shape]);
    this.numel = product(shape);
    if (offset < 0 || offset + this.numel > storage.length) {
      throw new IrisError("INTERNAL", `internal error: tensor [${shape.join(", ")}] at offset ${offset} overruns storage of ${storage.length} elements`);
    }
  }

  get dtype(): TensorDType {
    return this.storage.dtype;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The size of dimension `dim`; negative dims count from the end. */
  size(dim: number): number {
    const d = dim < 0 ? this.shape.length + dim : dim;
    if (d < 0 || d >= this.shape.length) {
      throw new IrisError("INVALID_ARGUMENT", `dimension ${dim} out of range for a tensor of rank ${this.shape.length}`);
    }
    return this.shape[d];
  }

  /** The same elements under another shape; one dimension may be -1 (inferred). */
  view(shape: readonly number[]): Tensor {
    const inferred = shape.indexOf(-1);
    let target = shape;
    if (inferred >= 0) {
      const known = product(shape.filter((_, i) => i !== inferred));
      if (shape.lastIndexOf(-1) !== inferred || known === 0 || this.numel % known !== 0) {
        throw new IrisError("INVALID_ARGUMENT", `cannot view [${this.shape.join(", ")}] as [${shape.join(", ")}]`);
      }
      target = shape.map((d, i) => (i === inferred ? this.numel / known : d));
    }
    checkShape(target);
    if (product(target) !== this.numel) {
      throw new IrisError("INVALID_ARGUMENT", `cannot view [${this.shape.join(", ")}] (${this.numel} elements) as [${shape.join(", ")}]`);
    }
    return new Tensor(this.device, this.storage, target, this.offset);
  }

  /** Alias of `view`: every tensor is contiguous, so a reshape never copies. */
  reshape(shape: readonly number[]): Tensor {
    return this.view(shape);
  }

  /** Rows `start .. start+length-1` of the leading dimension, as a view. */
  narrow(start: number, length: number): Tensor {
    if (this.rank === 0) throw new IrisError("INVALID_ARGUMENT", "cannot narrow a scalar tensor");
    const rows = this.shape[0];
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > rows) {
      throw new IrisError("INVALID_ARGUMENT", `narrow(${start}, ${length}) is out of range for a leading dimension of ${rows}`);
    }
    const rowSize = rows === 0 ? 0 : this.numel / rows;
    return new Tensor(this.device, this.storage, [length, ...this.shape.slice(1)], this.offset + start * rowSize);
  }

  /** Returns the storage to the device's allocator. Every view of it becomes unusable. */
  dispose(): void {
    if (this.storage.alive) this.device.release(this.storage);
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(", ")}], ${this.device.name})`;
  }
}
