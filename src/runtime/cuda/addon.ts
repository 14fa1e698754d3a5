/**
 * The cuda backend's native addon, build/iris_cuda.node (built by `npm run build:native` from native/cuda/ where
 * nvcc and cuBLAS exist), and the exact type of what it exports. This is the only file that loads it; when it is
 * missing, stale, fails to load or `IRIS_CUDA=0`, `cudaAddonStatus().addon` is null and `reason` says why.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { TensorDType } from "../dtype.js";

/** Bumped with `kAbiVersion` in native/cuda/addon/addon.cc whenever the surface below changes. */
export const CUDA_ABI_VERSION = 14;

/** Element type codes of the addon (iris::DType). */
export const DTYPE_CODE: Readonly<Record<TensorDType, number>> = { F32: 0, BF16: 1, F16: 2, I32: 3, F8_E4M3: 4 };

export interface CudaDeviceInfo {
  readonly name: string;
  readonly totalBytes: number;
  readonly multiprocessors: number;
  /** 90 for Hopper. */
  readonly computeCapability: number;
}

export interface CudaMemoryStats {
  /** Bytes of live allocations. */
  readonly allocatedBytes: number;
  /** Bytes held from the driver (live and cached). */
  readonly reservedBytes: number;
  /** The most bytes ever live at once. */
  readonly peakAllocatedBytes: number;
}

/**
 * NCCL through the addon (native/cuda/comm/nccl.cc, which loads libnccl.so.2 itself at first use). Communicators are
 * handles (numbers); collectives enqueue on the device's stream. `ncclStatus` is null when NCCL loaded, else why not.
 */
export interface NcclEntryPoints {
  ncclStatus(): string | null;
  ncclUniqueId(): Uint8Array;
  ncclInit(id: Uint8Array, size: number, rank: number): number;
  ncclAllReduceSum(comm: number, dtype: number, send: number, recv: number, count: number): void;
  ncclAllGather(comm: number, dtype: number, send: number, recv: number, sendCount: number): void;
  ncclBroadcast(comm: number, dtype: number, send: number, recv: number, count: number, root: number): void;
  /** NCCL's asynchronous error of the communicator (a peer gone), or null. */
  ncclAsyncError(comm: number): string | null;
  ncclAbort(comm: number): void;
  ncclDestroy(comm: number): void;
}

/**
 * The exports of build/iris_cuda.node. Pointers are device addresses as numbers, null pointers 0; sizes are
 * elements unless named bytes; dtypes are `DTYPE_CODE`s. Kernels enqueue on the device's stream and return;
 * every call throws an Error naming the CUDA or cuBLASLt failure.
 */
export interface CudaAddon extends NcclEntryPoints {
  readonly abiVersion: number;
  init(index: number): CudaDeviceInfo;
  memoryInfo(): { readonly freeBytes: number; readonly totalBytes: number };
  malloc(bytes: number): number;
  free(ptr: number): void;
  stats(): CudaMemoryStats;
  emptyCache(): void;
  upload(ptr: number, src: Float32Array | Uint16Array | Uint8Array | Int32Array): void;
  download(ptr: number, bytes: number, dtype: number, out: Float32Array | Int32Array): Promise<void>;
  synchronize(): Promise<void>;
  copy(dst: number, src: number, bytes: number): void;
  graphBegin(): void;
  graphEnd(): number;
  graphReplay(id: number): void;
  graphDestroy(id: number): void;
  markRecord(): number;
  markElapsed(from: number, to: number): number;
  markRelease(id: number): void;
  copy2D(dst: number, dstPitch: number, src: number, srcPitch: number, widthBytes: number, rows: number): void;

  fill(dtype: number, out: number, n: number, value: number): void;
  fillUniform(dtype: number, out: number, n: number, seed: number, low: number, high: number): void;
  cast(outDtype: number, out: number, inDtype: number, x: number, n: number): void;
  add(dtype: number, out: number, a: number, b: number, n: number, m: number): void;
  mul(dtype: number, out: number, a: number, b: number, n: number, m: number): void;
  scaleRows(dtype: number, out: number, x: number, scale: number, rows: number, width: number): void;
  siluAndMul(dtype: number, out: number, x: number, rows: number, inter: number): void;
  gelu(dtype: number, out: number, x: number, n: number): void;
  gatherRows(out: number, x: number, index: number, m: number, rows: number, rowBytes: number): void;
  /** out[t] = table[ids[t] - start] for ids in [start, start + rows), zeros elsewhere. */
  embeddingShard(out: number, table: number, ids: number, m: number, start: number, rows: number, rowBytes: number): void;
  scatterRows(dst: number, index: number, src: number, n: number, rows: number, rowBytes: number): void;
  storeKV(k: number, v: number, kCache: number, vCache: number, slots: number, T: number, rowBytes: number, numSlots: number): void;
  /** Skinny bf16 products (T <= 2) through the weight-streaming kernel: -1 by the backend's rule, 0 never, 1 wherever it applies. */
  setGemv(mode: number): void;
  /** The gemv kernel's warps per row: 1, 2, 4 or 8 forced, 0 its own choice (benchmarks). */
  setGemvSplit(split: number): void;
  /** The blocks decode attention splits a KV head's query group over: 1 or 2 forced, 0 its own choice (benchmarks). */
  setDecodeAttentionParts(parts: number): void;
  /** The lanes decode attention gives a key: 1 or 4 forced, 0 its own choice (benchmarks; head dim 32 always 1). */
  setDecodeAttentionLanesPerKey(lanes: number): void;
  /** Decode attention on the tensor-core kernel (1) or the decode kernel (0, the default), for benchmarks. */
  /** -1: the backend's rule; 0 / 1: forced. */
  setDecodeAttentionMma(mode: number): void;
  /**
   * Decode attention on its own tensor-core kernel (attention_decode_mma.cu) wherever it applies (1), or not (0, and
   * -1 the backend's rule: grouped layouts); ahead of setDecodeAttentionMma when on.
   */
  setDecodeAttentionTensorCores(mode: number): void;
  /** That kernel's warps a block: 1, 2 or 4 forced, 0 the rule's (by the batch's (sequence, KV head) pairs). */
  setDecodeAttentionMmaWarps(warps: number): void;
  /** That kernel's shared stages a warp (tiles in flight + 1): 2, 3 or 4 forced, 0 the rule's. */
  setDecodeAttentionMmaStages(stages: number): void;
  /** That kernel's splits merged in a cluster through shared memory (1) or through the workspace (0); -1 the rule. */
  setDecodeAttentionClusterMerge(mode: number): void;
  /** Those clusters' splits' least keys: a multiple of 16 from 16 to 512, 0 the default (128). */
  setDecodeAttentionClusterSplitKeys(keys: number): void;
  /** 4, 8 or 16: the FP8 product's loads in flight per lane at one row a pass; 0: its own choice. */
  setFp8StreamBatch(batch: number): void;
  /**
   * The MB of weights the quantizing FP8 products send to L2 before their wait on the kernel ahead (their first
   * passes', within that budget a call); 0: each warp's first batch of loads alone; -1: the addon's default.
   */
  setFp8PrefetchBudget(megabytes: number): void;
  /**
   * The FP8 products at decode sizes quantize their float input inside (1) or after a quantizeFp8 kernel (0): linearFp8's
   * callers (kernels/linear-fp8.ts) and moeTop1SigmoidFp8's two products; -1: the addon's default (fp8_gemv.cu).
   */
  setFp8QuantizeInProduct(mode: number): void;
  /** The choice in force: 1 inside, 0 a quantizeFp8 kernel before. */
  fp8QuantizeInProduct(): number;
  /**
   * moeTop1SigmoidFp8's two products on the FP8 tensor cores (1, wherever the kernel can serve) or the weight-streaming
   * kernel (0); -1: the addon's rule (tensor cores past 8 tokens: native/cuda/kernels/fp8_grouped_mma.cu).
   */
  setFp8GroupedMma(mode: number): void;
  /**
   * The decode products that quantize inside stream their weights through the tensor cores (1: mma over E4M3, sm_89 and
   * later) or the CUDA cores (0); -1: the addon's default (fp8_gemv.cu).
   */
  setFp8ProductOnTensorCores(mode: number): void;
  /** The tensor-core products' tiles copied into shared memory whole (1) or streamed through registers (0); -1 the rule. */
  setFp8BulkRows(mode: number): void;
  /** The choice in force: 1 tensor cores, 0 CUDA cores (always 0 before sm_89). */
  fp8ProductOnTensorCores(): number;
  /**
   * The quantizing FP8 products' timeline (native/cuda/include/fp8_timeline.cuh, benchmarks only): each launch from
   * now on writes its blocks' marks into the next slice of `buffer` (a zeroed device buffer of `bytes`); 0 turns it
   * off. Either way the launches recorded before are forgotten.
   */
  setFp8Timeline(buffer: number, bytes: number): void;
  /** The launches recorded since setFp8Timeline: "name,gridX,gridY,firstWord" a line. */
  fp8TimelineLaunches(): string;
  linear(dtype: number, out: number, x: number, w: number, bias: number, T: number, K: number, N: number): void;
  /** 1 where linearSiluAndMul has a fused kernel for out [T, I] from x [T, K] and w [2I, K] (skinny bf16 products). */
  linearSiluAndMulFuses(dtype: number, out: number, x: number, w: number, T: number, K: number, I: number): number;
  /** out [T, I] = silu(gate) * up of x · wᵀ (+ bias [2I]), w [2I, K] gate rows first; only where it fuses. */
  linearSiluAndMul(dtype: number, out: number, x: number, w: number, bias: number, T: number, K: number, I: number): void;
  /** 1 where a decode layer's products of T rows over hidden size K take their norm and residual add (gemv.cu). */
  skinnyFusions(dtype: number, T: number, K: number): number;
  /** out = rmsNorm(x) * normWeight · wᵀ + bias (gated: silu(gate) * up, w [2N, K]); 1 enqueued, 0 declined. */
  rmsNormLinear(dtype: number, out: number, x: number, normWeight: number, eps: number, w: number, bias: number, T: number, K: number,
    N: number, gated: number): number;
  /** residual [T, N] += x · wᵀ + bias; 1 enqueued, 0 declined. */
  linearAddResidual(dtype: number, residual: number, x: number, w: number, bias: number, T: number, K: number, N: number): number;
  /** Rows of x (`batches` blocks of [R, C], or of [C, R] with `transpose`) to FP8 q [batches, R, C] and F32 scales. */
  quantizeFp8(inDtype: number, q: number, scale: number, x: number, batches: number, R: number, C: number, transpose: number): void;
  /** out [T, N] of outDtype from FP8 x [T, K] (scales F32 [T]) and FP8 w [N, K] (scales F32 [N]), bias [N] or 0. */
  linearFp8(outDtype: number, out: number, x: number, xScale: number, w: number, wScale: number, bias: number, T: number, K: number,
    N: number): void;
  rmsNorm(dtype: number, out: number, x: number, w: number, rows: number, H: number, eps: number): void;
  layerNorm(dtype: number, out: number, x: number, w: number, b: number, rows: number, H: number, eps: number): void;
  softmax(dtype: number, out: number, x: number, rows: number, H: number): void;
  addRmsNorm(dtype: number, out: number, residual: number, x: number, w: number, rows: number, H: number, eps: number): void;
  rotaryStoreKV(dtype: number, q: number, kCache: number, vCache: number, qkv: number, cos: number, sin: number, slots: number,
    T: number, Hq: number, Hk: number, D: number, R: number, interleaved: number, numSlots: number, qkNormEps: number, qScale: number): void;
  /** rotaryStoreKV on its 16-byte kernel wherever it applies (1, and -1 the rule) or always the one-value kernel (0). */
  setRotaryStoreKVVec16(mode: number): void;
  ropeCosSin(cos: number, sin: number, positions: number, invFreq: number, section: number, T: number, P: number, R: number): void;
  applyRotary(dtype: number, x: number, y: number, cos: number, sin: number, T: number, headsX: number, headsY: number, D: number,
    R: number, interleaved: number): void;
  attention(dtype: number, out: number, q: number, k: number, v: number, queryStart: number, kvLens: number, pageTable: number,
    tokens: number, S: number, Hq: number, Hk: number, D: number, maxPages: number, pageSize: number, numSlots: number,
    maxQueryLen: number, maxKvLen: number, scale: number, causal: number, chunkSize: number, paged: number, forceSplits: number): void;
  /** bf16 attention with 16 or more queries on the tensor-core kernel (default; IRIS_ATTENTION_MMA=0 turns it off) or not. */
  setAttentionMma(enabled: number): void;
  /** 1 where attentionQKV serves this varlen call from the fused qkv [T, (Hq + 2 Hk) D] in place (attention_qkv.cu). */
  attentionQKVApplies(dtype: number, out: number, qkv: number, queryStart: number, T: number, S: number, Hq: number, Hk: number,
    D: number, maxQueryLen: number, scale: number, causal: number): number;
  /** q and k rotated in place in qkv, then attention of q, k and v read there into out [T, Hq, D]; only where it applies. */
  attentionQKV(dtype: number, out: number, qkv: number, queryStart: number, T: number, S: number, Hq: number, Hk: number, D: number,
    maxQueryLen: number, scale: number, causal: number, cos: number, sin: number, R: number, interleaved: number): void;
  /** attentionQKV in place by the rule (-1), never (0: the caller copies q, k, v apart) or wherever it can (1). */
  setAttentionQKVInPlace(mode: number): void;
  /** attentionQKV's windows (segments of at most 64 rows) on the kernel that rotates in shared memory: -1 or 1 wherever it applies, 0 never. */
  setAttentionWindows(mode: number): void;
  /** That kernel's heads a block (1 to 64; 0: its default). */
  setAttentionWindowHeads(heads: number): void;
  argmax(dtype: number, out: number, logits: number, B: number, V: number): void;
  /** argmax on its 16-byte kernel wherever the rows allow it (1, and -1 the rule) or always the scalar kernel (0). */
  setArgmaxVec16(mode: number): void;
  applyPenalties(logits: number, ids: number, counts: number, rowStart: number, repetition: number, frequency: number,
    presence: number, B: number, V: number): void;
  applyTokenMask(logits: number, bitmask: number, rows: number, M: number, B: number, V: number, W: number): void;
  sample(out: number, logits: number, temperature: number, topK: number, topP: number, minP: number, uniform: number,
    B: number, V: number): void;
  // Logprob kernels over F32 rows [R, V] (native/cuda/kernels/logprobs.cu).
  logSoftmax(out: number, x: number, R: number, V: number): void;
  gatherColumns(out: number, x: number, index: number, R: number, V: number, G: number): void;
  topK(values: number, ids: number, x: number, R: number, V: number, K: number): void;
  /** Bytes of scratch moeTop1Sigmoid needs for these sizes. */
  moeScratchBytes(dtype: number, T: number, H: number, E: number, I: number): number;
  /** Llama 4's routed experts (native/cuda/kernels/moe.cu): tokens grouped by expert on the device; scratch 0: its own. */
  moeTop1Sigmoid(dtype: number, out: number, x: number, routerLogits: number, gateUp: number, down: number, T: number, H: number,
    E: number, I: number, scratch: number, scratchBytes: number): void;
  /** Bytes of scratch moeTop1SigmoidFp8 needs for these sizes. */
  moeFp8ScratchBytes(dtype: number, T: number, H: number, E: number, I: number): number;
  /** Routed experts with FP8 weights (native/cuda/kernels/fp8_moe.cu): gateUp [E, 2I, H], down [E, H, I] with row scales. */
  moeTop1SigmoidFp8(dtype: number, out: number, x: number, routerLogits: number, gateUp: number, gateUpScale: number, down: number,
    downScale: number, T: number, H: number, E: number, I: number, scratch: number, scratchBytes: number): void;
  /** 1 where moeTop1SigmoidFp8Shared serves these sizes now (decode sizes, by setFp8MoeSharedFold's rule), else 0. */
  moeFp8SharedFold(dtype: number, T: number, H: number, E: number, I: number): number;
  /** Bytes of scratch moeTop1SigmoidFp8Shared needs for these sizes. */
  moeFp8SharedScratchBytes(dtype: number, T: number, H: number, E: number, I: number): number;
  /**
   * moeTop1SigmoidFp8 plus Llama 4's shared expert (gate|up [2I, H], down [H, I], row scales) added to the output, its
   * two products folded into the routed expert's (native/cuda/include/fp8_shared_expert.cuh); only where it serves.
   */
  moeTop1SigmoidFp8Shared(dtype: number, out: number, x: number, routerLogits: number, gateUp: number, gateUpScale: number,
    down: number, downScale: number, sharedGateUp: number, sharedGateUpScale: number, sharedDown: number, sharedDownScale: number,
    T: number, H: number, E: number, I: number, scratch: number, scratchBytes: number): void;
  /** The shared expert folded into the routed experts' FP8 products (1) wherever it can, never (0), -1 the addon's rule. */
  setFp8MoeSharedFold(mode: number): void;
  patchifyImage(dtype: number, out: number, pixels: number, table: number, width: number, height: number, patch: number,
    merge: number, temporal: number): void;
  /** native/cuda/kernels/resize_image.cu: a table address 0 for an axis whose size stays; scratch 0 unless both change. */
  resizeImage(out: number, pixels: number, scratch: number, srcWidth: number, srcHeight: number, width: number, height: number,
    hTable: number, hTaps: number, hPrecision: number, vTable: number, vTaps: number, vPrecision: number): void;
}

export interface CudaAddonStatus {
  readonly addon: CudaAddon | null;
  readonly path: string;
  /** "loaded", or why the cuda backend is unavailable. */
  readonly reason: string;
}

// build/ at the package root: three levels above src/runtime/cuda/ (tsx) and dist/runtime/cuda/ (compiled).
const ADDON_PATH = fileURLToPath(new URL("../../../build/iris_cuda.node", import.meta.url));

let status: CudaAddonStatus | undefined;

/** Loads the addon on first use; later calls return the same result. */
export function cudaAddonStatus(): CudaAddonStatus {
  status ??= load();
  return status;
}

function load(): CudaAddonStatus {
  const path = ADDON_PATH;
  const without = (reason: string): CudaAddonStatus => ({ addon: null, path, reason });
  if (process.env.IRIS_CUDA === "0") return without("disabled by IRIS_CUDA=0");
  if (!existsSync(path)) return without(`${path} not found (npm run build:native builds it where nvcc and cuBLAS exist)`);
  let exports: unknown;
  try {
    exports = createRequire(import.meta.url)(path);
  } catch (err) {
    return without(`${path} failed to load: ${(err as Error).message}`);
  }
  const addon = exports as Partial<CudaAddon>;
  if (addon.abiVersion !== CUDA_ABI_VERSION || typeof addon.init !== "function" || typeof addon.sample !== "function") {
    return without(`${path} is stale (abiVersion ${String(addon.abiVersion)}, expected ${CUDA_ABI_VERSION}): rebuild with npm run build:native`);
  }
  return { addon: addon as CudaAddon, path, reason: "loaded" };
}
