import { DTYPE_BYTES, type DType, type HostArray } from "./dtype.js";
import { e4m3ToF32 } from "./fp8.js";
import { bf16ToF32, f16ToF32 } from "./half.js";
import { IrisError } from "./errors.js";

/**
 * A tensor in host memory, as a processor produces it or a safetensors file holds it.
 * The tensor names of Hugging Face (`pixel_values`, `image_grid_thw`, `input_ids`) refer to values of this type.
 */
export interface HostTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: HostArray;
}

/** A 1-D tensor, e.g. one prompt's `input_ids`: typed apart so `generate` knows it is one request. */
export interface HostTensor1D extends HostTensor {
  readonly shape: readonly [number];
}

/** A 2-D tensor, e.g. a batch of `input_ids` rows. */
export interface HostTensor2D extends HostTensor {
  readonly shape: readonly [number, number];
}

/** One token-id list as a 1-D int64 tensor, as a processor returns a prompt's `input_ids`. */
export function idsTensor(ids: ArrayLike<number>): HostTensor1D {
  return int64Tensor([ids.length], ids) as HostTensor1D;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function hostTensor(dtype: DType, shape: readonly number[], data: HostArray): HostTensor {
  const expected = numel(shape);
  if (data.length !== expected) {
    throw new IrisError("INVALID_ARGUMENT", `tensor of shape [${shape.join(", ")}] needs ${expected} elements, got ${data.length}`);
  }
  return { dtype, shape: [...shape], data };
}

export function byteLength(t: HostTensor): number {
  return numel(t.shape) * DTYPE_BYTES[t.dtype];
}

/** The elements as float32, widening bf16/f16 and converting integers. */
export function toFloat32(t: HostTensor): Float32Array {
  const n = t.data.length;
  switch (t.dtype) {
    case "F32": return t.data as Float32Array;
    case "BF16": {
      const src = t.data as Uint16Array;
      const out = new Float32Array(n);
      // NOTE: bf16 -> f32 is a shift of the bits; done through a Uint32 view to avoid per-element calls.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return out;
    }
    case "F16": {
      const src = t.data as Uint16Array;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16ToF32(src[i]);
      return out;
    }
    case "F8_E4M3": return Float32Array.from(t.data as Uint8Array, e4m3ToF32);
    case "I64": {
      const src = t.data as BigInt64Array;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]);
      return out;
    }
    default: return Float32Array.from(t.data as ArrayLike<number>);
  }
}

/** The elements as plain numbers (integers exact up to 2^53); for ids, grids and positions. */
export function toNumbers(t: HostTensor): number[] {
  if (t.dtype === "I64") return Array.from(t.data as BigInt64Array, (v) => Number(v));
  if (t.dtype === "BF16") return Array.from(t.data as Uint16Array, bf16ToF32);
  if (t.dtype === "F16") return Array.from(t.data as Uint16Array, f16ToF32);
  if (t.dtype === "F8_E4M3") return Array.from(t.data as Uint8Array, e4m3ToF32);
  return Array.from(t.data as ArrayLike<number>);
}

/** An int64 tensor from plain integers. */
export function int64Tensor(shape: readonly number[], values: ArrayLike<number>): HostTensor {
  return hostTensor("I64", shape, BigInt64Array.from(Array.from(values), (v) => BigInt(v)));
}

export function float32Tensor(shape: readonly number[], values: Float32Array): HostTensor {
  return hostTensor("F32", shape, values);
}

/** Concatenates tensors along dim 0 (the images of several items), keeping the dtype of the first. */
export function concatHostTensors(tensors: readonly HostTensor[], what: string): HostTensor {
  if (tensors.length === 1) return tensors[0];
  const first = tensors[0];
  const rest = first.shape.slice(1);
  for (const t of tensors) {
    if (t.dtype !== first.dtype || t.shape.length !== first.shape.length || t.shape.slice(1).some((d, i) => d !== rest[i])) {
      throw new IrisError("INVALID_ARGUMENT", `${what}: items disagree in dtype or shape ([${t.shape.join(", ")}] ${t.dtype} vs [${first.shape.join(", ")}] ${first.dtype})`);
    }
  }
  const total = tensors.reduce((n, t) => n + t.data.length, 0);
  const Ctor = first.data.constructor as new (n: number) => HostTensor["data"];
  const data = new Ctor(total);
  let at = 0;
  for (const t of tensors) {
    (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data as ArrayLike<unknown>, at);
    at += t.data.length;
  }
  return hostTensor(first.dtype, [tensors.reduce((n, t) => n + t.shape[0], 0), ...rest], data);
}
