/**
 * Element types, named as safetensors names them, and the typed arrays that hold them on the host.
 * bf16 and f16 are held as their raw 16-bit patterns in a Uint16Array, FP8 E4M3 as its bytes in a Uint8Array;
 * converters live in `half.ts` and `fp8.ts`.
 */
export type DType = "F64" | "F32" | "F16" | "BF16" | "F8_E4M3" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export type HostArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, name);
}

/** A typed-array view of `bytes` for `dtype`, copying only when the bytes are not aligned for it. */
export function viewAs(dtype: DType, bytes: Uint8Array): HostArray {
  const size = DTYPE_BYTES[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset, byteLength } = aligned;
  const length = byteLength / size;
  switch (dtype) {
    case "F64": return new Float64Array(buffer, byteOffset, length);
    case "F32": return new Float32Array(buffer, byteOffset, length);
    case "F16":
    case "BF16": return new Uint16Array(buffer, byteOffset, length);
    case "I64": return new BigInt64Array(buffer, byteOffset, length);
    case "I32": return new Int32Array(buffer, byteOffset, length);
    case "I16": return new Int16Array(buffer, byteOffset, length);
    case "I8": return new Int8Array(buffer, byteOffset, length);
    case "F8_E4M3":
    case "U8":
    case "BOOL": return new Uint8Array(buffer, byteOffset, length);
  }
}
