import type { DType } from "../core/dtype.js";

/**
 * Element types a device tensor can hold. Floats: F32 (the cpu compute type), BF16 and F16 (the cuda compute
 * types, stored as raw 16-bit patterns). Integers: I32 for token ids, positions, indices, page tables.
 */
export type TensorDType = Extract<DType, "F32" | "BF16" | "F16" | "I32">;

/** The host array that carries a tensor's elements to and from a device: 16-bit floats travel as raw bits. */
export type HostTransferArray = Float32Array | Uint16Array | Int32Array;
