import type { DType } from "../core/dtype.js";

/**
 * Element types a device tensor can hold. Floats: F32 (the cpu compute type), BF16 and F16 (the cuda compute
 * types, stored as raw 16-bit patterns). F8_E4M3: FP8 weights and quantized activations (raw bytes; see
 * core/fp8.ts), which only the FP8 kernels read. Integers: I32 for token ids, positions, indices, page tables.
 */
export type TensorDType = Extract<DType, "F32" | "BF16" | "F16" | "F8_E4M3" | "I32">;

/** The host array that carries a tensor's elements to and from a device: 16-bit floats as raw bits, FP8 as bytes. */
export type HostTransferArray = Float32Array | Uint16Array | Uint8Array | Int32Array;
