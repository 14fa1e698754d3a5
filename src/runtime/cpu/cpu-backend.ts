import { IrisError } from "../../core/errors.js";
import type { Backend } from "../backend.js";
import type { HostTransferArray, TensorDType } from "../dtype.js";
import type { Storage, Tensor } from "../tensor.js";
import { attention } from "./attention.js";
import { add, copy, fill, gelu, mul, scaleRows, siluAndMul, sliceColumns } from "./elementwise.js";
import { embedding, gatherRows, scatterRows } from "./indexing.js";
import { linear } from "./matmul.js";
import { moeTop1Sigmoid } from "./moe.js";
import { layerNorm, rmsNorm, softmax } from "./norms.js";
import { pagedAttention, storeKV } from "./paged-attention.js";
import { applyRotary, ropeCosSin } from "./rotary.js";
import { applyPenalties, argmax, sample } from "./sampling.js";
import { CpuStorage, f32, i32 } from "./storage.js";

/**
 * The reference backend: every kernel in TypeScript over Float32Array, computing in float32 (float64 for sums).
 * Work runs synchronously when a kernel is called, so `download` resolves at once.
 */
export class CpuBackend implements Backend {
  readonly kind = "cpu" as const;
  readonly floatDType: TensorDType = "F32";

  supportsDType(dtype: TensorDType): boolean {
    return dtype === "F32" || dtype === "I32";
  }

  allocate(dtype: TensorDType, length: number): Storage {
    if (!this.supportsDType(dtype)) throw new IrisError("INVALID_ARGUMENT", `the cpu backend has no ${dtype} tensors; use F32`);
    return new CpuStorage(dtype, length);
  }

  release(storage: Storage): void {
    if (storage instanceof CpuStorage) storage.release();
  }

  upload(dst: Tensor, src: HostTransferArray): void {
    if (dst.dtype === "I32") i32(dst).set(src as Int32Array);
    else f32(dst).set(src as Float32Array);
  }

  download(src: Tensor): Promise<Float32Array | Int32Array> {
    return Promise.resolve(src.dtype === "I32" ? i32(src).slice() : f32(src).slice());
  }

  synchronize(): Promise<void> {
    return Promise.resolve();
  }

  fill = fill;
  copy = copy;
  sliceColumns = sliceColumns;
  add = add;
  mul = mul;
  scaleRows = scaleRows;
  siluAndMul = siluAndMul;
  gelu = gelu;
  embedding = embedding;
  gatherRows = gatherRows;
  scatterRows = scatterRows;
  linear = linear;
  rmsNorm = rmsNorm;
  layerNorm = layerNorm;
  softmax = softmax;
  ropeCosSin = ropeCosSin;
  applyRotary = applyRotary;
  attention = attention;
  storeKV = storeKV;
  pagedAttention = pagedAttention;
  moeTop1Sigmoid = moeTop1Sigmoid;
  argmax = argmax;
  applyPenalties = applyPenalties;
  sample = sample;
}
