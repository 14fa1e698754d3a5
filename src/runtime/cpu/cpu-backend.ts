import { IrisError } from "../../core/errors.js";
import { e4m3ToF32 } from "../../core/fp8.js";
import { bf16ToF32, f16ToF32 } from "../../core/half.js";
import type { Arena, Backend, MemoryStats, SamplingTensors } from "../backend.js";
import type { HostTransferArray, TensorDType } from "../dtype.js";
import { HostClockMarks } from "../host-clock-marks.js";
import { StackArena } from "../stack-arena.js";
import type { Storage, Tensor } from "../tensor.js";
import { attention, rotaryAttentionQKV } from "./attention.js";
import { cast } from "./cast.js";
import { add, copy, fill, fillUniform, gelu, mul, scaleRows, siluAndMul, placeColumns, sliceColumns } from "./elementwise.js";
import { embedding, embeddingShard, gatherRows, scatterRows } from "./indexing.js";
import { patchifyImage, resizeImage } from "./image.js";
import { linear } from "./matmul.js";
import { moeTop1Sigmoid } from "./moe.js";
import { linearFp8, moeTop1SigmoidFp8, quantizeFp8 } from "./fp8.js";
import { addRmsNorm, fusesNormedProducts, linearAddResidual, rmsNormLinear, rotaryStoreKV } from "./fused.js";
import { layerNorm, rmsNorm, softmax } from "./norms.js";
import { pagedAttention, storeKV } from "./paged-attention.js";
import { applyRotary, ropeCosSin } from "./rotary.js";
import { applyPenalties, argmax, SamplingScratch, sample } from "./sampling.js";
import { applyTokenMask } from "./token-mask.js";
import { gatherColumns, logSoftmax, topK } from "./logprobs.js";
import { bytes8, CpuStorage, elements, f32, halves, i32 } from "./storage.js";

/**
 * The reference backend: kernels over typed arrays computing in float32 (float64 for sums), in TypeScript except the
 * matrix product, which runs the native C++ kernels when they are built (`native.ts`). Work runs synchronously when
 * a kernel is called, so `download` resolves at once. BF16 and F16 tensors exist for casts and copies only (a
 * GPU's logits, say), F8_E4M3 for the FP8 kernels (fp8.ts); every other kernel takes F32.
 */
export class CpuBackend implements Backend {
  readonly kind = "cpu" as const;
  readonly floatDType: TensorDType = "F32";
  private allocatedBytes = 0;
  private peakAllocatedBytes = 0;
  private readonly samplingScratch = new SamplingScratch();
  readonly timingMarks = new HostClockMarks();

  supportsDType(dtype: TensorDType): boolean {
    return dtype === "F32" || dtype === "I32" || dtype === "BF16" || dtype === "F16" || dtype === "F8_E4M3";
  }

  allocate(dtype: TensorDType, length: number): Storage {
    if (!this.supportsDType(dtype)) throw new IrisError("INVALID_ARGUMENT", `the cpu backend has no ${dtype} tensors; use F32`);
    const storage = CpuStorage.allocate(dtype, length);
    this.count(storage.bytes);
    return storage;
  }

  release(storage: Storage): void {
    // An arena's storages go back with the arena, never one by one.
    if (!(storage instanceof CpuStorage) || storage.lease !== null || !storage.alive) return;
    this.count(-storage.bytes);
    storage.release();
  }

  createArena(capacityBytes: number): Arena {
    return new StackArena<ArrayBuffer>({
      allocateBlock: (bytes) => {
        this.count(bytes);
        return new ArrayBuffer(bytes);
      },
      releaseBlock: (block) => this.count(-block.byteLength),
      view: (block, byteOffset, dtype, length, lease) => CpuStorage.inBlock(block, byteOffset, dtype, length, lease),
    }, capacityBytes);
  }

  memoryStats(): MemoryStats {
    // No cache between the allocator and the system: what is reserved is what is allocated.
    const { allocatedBytes, peakAllocatedBytes } = this;
    return { allocatedBytes, reservedBytes: allocatedBytes, peakAllocatedBytes };
  }

  upload(dst: Tensor, src: HostTransferArray): void {
    elements(dst).set(src);
  }

  download(src: Tensor): Promise<Float32Array | Int32Array> {
    if (src.dtype === "I32") return Promise.resolve(i32(src).slice());
    if (src.dtype === "F32") return Promise.resolve(f32(src).slice());
    if (src.dtype === "F8_E4M3") return Promise.resolve(Float32Array.from(bytes8(src), e4m3ToF32));
    const widen = src.dtype === "BF16" ? bf16ToF32 : f16ToF32;
    return Promise.resolve(Float32Array.from(halves(src), (bits) => widen(bits)));
  }

  synchronize(): Promise<void> {
    return Promise.resolve();
  }

  sample(out: Tensor, logits: Tensor, params: SamplingTensors): void {
    sample(out, logits, params, this.samplingScratch);
  }

  private count(bytes: number): void {
    this.allocatedBytes += bytes;
    this.peakAllocatedBytes = Math.max(this.peakAllocatedBytes, this.allocatedBytes);
  }

  cast = cast;
  fill = fill;
  fillUniform = fillUniform;
  copy = copy;
  sliceColumns = sliceColumns;
  placeColumns = placeColumns;
  add = add;
  mul = mul;
  scaleRows = scaleRows;
  siluAndMul = siluAndMul;
  gelu = gelu;
  embedding = embedding;
  embeddingShard = embeddingShard;
  gatherRows = gatherRows;
  scatterRows = scatterRows;
  linear = linear;
  fusesNormedProducts = fusesNormedProducts;
  rmsNormLinear = rmsNormLinear;
  linearAddResidual = linearAddResidual;
  quantizeFp8 = quantizeFp8;
  linearFp8 = linearFp8;
  rmsNorm = rmsNorm;
  addRmsNorm = addRmsNorm;
  layerNorm = layerNorm;
  softmax = softmax;
  ropeCosSin = ropeCosSin;
  applyRotary = applyRotary;
  rotaryStoreKV = rotaryStoreKV;
  attention = attention;
  rotaryAttentionQKV = rotaryAttentionQKV;
  storeKV = storeKV;
  pagedAttention = pagedAttention;
  moeTop1Sigmoid = moeTop1Sigmoid;
  moeTop1SigmoidFp8 = moeTop1SigmoidFp8;
  argmax = argmax;
  applyPenalties = applyPenalties;
  applyTokenMask = applyTokenMask;
  logSoftmax = logSoftmax;
  gatherColumns = gatherColumns;
  topK = topK;
  patchifyImage = patchifyImage;
  resizeImage = resizeImage;
}
