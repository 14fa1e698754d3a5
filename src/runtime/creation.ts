import { IrisError } from "../core/errors.js";
import type { HostArray } from "../core/dtype.js";
import { f32ToF16 } from "../core/half.js";
import { numel, toFloat32, type HostTensor } from "../core/host-tensor.js";
import type { Device } from "./device.js";
import type { HostTransferArray, TensorDType } from "./dtype.js";
import { Tensor } from "./tensor.js";

/** A new tensor with undefined contents; `dtype` defaults to the device's float type. */
export function empty(device: Device, shape: readonly number[], dtype: TensorDType = device.floatDType): Tensor {
  return new Tensor(device, device.allocate(dtype, numel(shape)), shape);
}

export function full(device: Device, shape: readonly number[], value: number, dtype: TensorDType = device.floatDType): Tensor {
  const t = empty(device, shape, dtype);
  device.backend.fill(t, value);
  return t;
}

export function zeros(device: Device, shape: readonly number[], dtype: TensorDType = device.floatDType): Tensor {
  return full(device, shape, 0, dtype);
}

export interface FromHostOptions {
  /** Defaults to the host tensor's shape, or [length] for a typed array. */
  readonly shape?: readonly number[];
  /** Defaults to the device's float type for floats and I32 for integers. */
  readonly dtype?: TensorDType;
}

function isHostTensor(src: HostTensor | HostArray): src is HostTensor {
  return !ArrayBuffer.isView(src);
}

function hostDType(data: HostArray): HostTensor["dtype"] {
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Uint16Array) {
    throw new IrisError("INVALID_ARGUMENT", "a bare Uint16Array is ambiguous (bf16 or f16 bits): pass a HostTensor with its dtype");
  }
  if (data instanceof BigInt64Array) return "I64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof Int16Array) return "I16";
  if (data instanceof Int8Array) return "I8";
  return "U8";
}

function toInt32(host: HostTensor): Int32Array {
  if (host.dtype === "I32") return host.data as Int32Array;
  const out = new Int32Array(host.data.length);
  if (host.dtype === "I64") {
    const src = host.data as BigInt64Array;
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (v > 2147483647n || v < -2147483648n) {
        throw new IrisError("INVALID_ARGUMENT", `int64 value ${v} does not fit the I32 tensors of the device`);
      }
      out[i] = Number(v);
    }
    return out;
  }
  out.set(host.data as ArrayLike<number>);
  return out;
}

/**
 * Uploads host data to `device`. Floats (F64, F32, F16, BF16) become the device's float type, which on cpu
 * widens bf16/f16 weights to F32; integers become I32 (int64 checked for range).
 */
export function fromHost(device: Device, src: HostTensor | HostArray, options: FromHostOptions = {}): Tensor {
  const host: HostTensor = isHostTensor(src) ? src : { dtype: hostDType(src), shape: [src.length], data: src };
  const shape = options.shape ?? host.shape;
  if (numel(shape) !== host.data.length) {
    throw new IrisError("INVALID_ARGUMENT", `shape [${shape.join(", ")}] needs ${numel(shape)} elements, got ${host.data.length}`);
  }
  const floating = host.dtype === "F64" || host.dtype === "F32" || host.dtype === "F16" || host.dtype === "BF16";
  const dtype = options.dtype ?? (floating ? device.floatDType : "I32");
  let data: HostTransferArray;
  if (dtype === "I32") {
    if (floating) throw new IrisError("INVALID_ARGUMENT", `cannot upload ${host.dtype} data as an I32 tensor`);
    data = toInt32(host);
  } else if (dtype === "F32") {
    data = host.dtype === "F64" ? Float32Array.from(host.data as Float64Array) : toFloat32(host);
  } else if (host.dtype === dtype) {
    data = host.data as Uint16Array | Uint8Array;
  } else if (floating && dtype !== "F8_E4M3") {
    // Floats into a 16-bit device type (a GPU's BF16), rounded to nearest even as torch's .to() does: on the device,
    // from an exact F32 upload. Rounding in JavaScript took ~6 ms of the engine's thread for one picture's processor
    // output (1.5 M pixel values; V8 profile of bench/vlm-formats.ts on the H200 machine), before its vision pass.
    const values = host.dtype === "F64" ? Float32Array.from(host.data as Float64Array) : toFloat32(host);
    if (host.dtype === "F32" || host.dtype === "F64") return roundedOnDevice(device, shape, values, dtype);
    data = toHalfBits(values, dtype);
  } else {
    // FP8 needs a scale: quantizeFp8 makes FP8 tensors from floats on the device.
    throw new IrisError("INVALID_ARGUMENT", `converting ${host.dtype} to ${dtype} on upload is not supported; upload as ${dtype} bits or as F32`);
  }
  const t = empty(device, shape, dtype);
  device.backend.upload(t, data);
  return t;
}

/** `values` uploaded exactly and rounded to `dtype` by the device's cast (stream-ordered: the F32 copy is freed after). */
function roundedOnDevice(device: Device, shape: readonly number[], values: Float32Array, dtype: "BF16" | "F16"): Tensor {
  const t = empty(device, shape, dtype);
  const exact = empty(device, shape, "F32");
  try {
    device.backend.upload(exact, values);
    device.backend.cast(t, exact);
  } finally {
    exact.dispose();
  }
  return t;
}

/** Float32 values as the raw bits of BF16 or F16, rounding to nearest even (NaN stays NaN, overflow to infinity). */
function toHalfBits(values: Float32Array, dtype: "BF16" | "F16"): Uint16Array {
  const out = new Uint16Array(values.length);
  if (dtype === "F16") {
    for (let i = 0; i < values.length; i++) out[i] = f32ToF16(values[i]);
    return out;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/**
 * Copies host values into an existing tensor (or view) in place, so its device address stays fixed: what
 * persistent input buffers need (CUDA graphs replay on fixed addresses). The cpu runner still uploads fresh tensors
 * each step.
 */
export function upload(dst: Tensor, data: Float32Array | Int32Array): void {
  if (dst.dtype !== "I32" && dst.dtype !== "F32") {
    throw new IrisError("INVALID_ARGUMENT", `upload into ${dst.dtype} tensors takes their raw bits; use fromHost for a new tensor`);
  }
  const matches = dst.dtype === "I32" ? data instanceof Int32Array : data instanceof Float32Array;
  if (!matches) throw new IrisError("INVALID_ARGUMENT", `upload into ${dst} needs a ${dst.dtype === "I32" ? "Int32Array" : "Float32Array"}`);
  if (data.length !== dst.numel) throw new IrisError("INVALID_ARGUMENT", `upload into ${dst} needs ${dst.numel} values, got ${data.length}`);
  if (!dst.storage.alive) throw new IrisError("INTERNAL", `internal error: upload into ${dst} after dispose()`);
  dst.device.backend.upload(dst, data);
}

/** Copies a tensor to the host once the work before it has finished: floats as Float32Array, I32 as Int32Array. */
export function download(t: Tensor): Promise<Float32Array | Int32Array> {
  return t.device.backend.download(t);
}

export async function downloadFloat32(t: Tensor): Promise<Float32Array> {
  if (t.dtype === "I32") throw new IrisError("INVALID_ARGUMENT", `downloadFloat32 needs a float tensor, got ${t}`);
  return (await download(t)) as Float32Array;
}

export async function downloadInt32(t: Tensor): Promise<Int32Array> {
  if (t.dtype !== "I32") throw new IrisError("INVALID_ARGUMENT", `downloadInt32 needs an I32 tensor, got ${t}`);
  return (await download(t)) as Int32Array;
}
