import { IrisError } from "../../core/errors.js";
import type {
  Arena, AttentionOptions, Backend, GraphCapture, TimingMarks, PagedAttentionMeta, PagedAttentionOptions, Penalties, QkAfterRotary, RotaryStyle, SamplingTensors, Segments,
} from "../backend.js";
import type { HostTransferArray, TensorDType } from "../dtype.js";
import type { Fp8Weight } from "../fp8-weight.js";
import type { Storage, Tensor } from "../tensor.js";
import * as fp8 from "./fp8-ops.js";
import * as images from "./image-ops.js";
import * as fusedQkv from "./attention-qkv.js";
import * as products from "./product-fusions.js";
import { cudaAddonStatus, DTYPE_CODE, type CudaAddon, type CudaDeviceInfo, type CudaMemoryStats } from "./addon.js";
import { fp8QuantizesInProduct } from "./kernel-tuning.js";
import { StackArena } from "../stack-arena.js";
import { byteSize, CudaStorage, devicePtr as ptr, ELEMENT_BYTES, optionalPtr } from "./storage.js";

const code = (t: Tensor): number => DTYPE_CODE[t.dtype];
const lastDim = (t: Tensor): number => t.shape[t.rank - 1];

/**
 * The GPU backend: bf16 storage with fp32 accumulation and statistics, every kernel enqueued on the device's one
 * stream by the native addon (native/cuda/). Device memory comes from the addon's caching allocator; storages that
 * are garbage-collected without `release` go back to it too. Only `download` and `synchronize` wait, on a worker
 * thread, for an event or the stream, never for the whole device.
 */
export class CudaBackend implements Backend {
  readonly kind = "cuda" as const;
  readonly floatDType: TensorDType = "BF16";
  readonly device: CudaDeviceInfo;
  readonly description: string;
  /** > 0: attention splits every sequence's keys this many ways (to test the long-context decode path). */
  attentionSplits = 0;
  private readonly collected: FinalizationRegistry<number>;

  constructor(private readonly addon: CudaAddon, index: number) {
    this.device = addon.init(index);
    const { name, totalBytes, multiprocessors, computeCapability } = this.device;
    this.description = `${name}, ${(totalBytes / 2 ** 30).toFixed(1)} GiB, ${multiprocessors} SMs, sm_${computeCapability}`;
    this.collected = new FinalizationRegistry((address) => addon.free(address));
  }

  supportsDType(dtype: TensorDType): boolean {
    return dtype === "BF16" || dtype === "F32" || dtype === "F16" || dtype === "F8_E4M3" || dtype === "I32";
  }

  // ==== memory ====

  allocate(dtype: TensorDType, length: number): Storage {
    if (!this.supportsDType(dtype)) throw new IrisError("INVALID_ARGUMENT", `the cuda backend has no ${dtype} tensors`);
    const address = this.allocateBytes(length * ELEMENT_BYTES[dtype]);
    const storage = new CudaStorage(dtype, length, address, null);
    this.collected.register(storage, address, storage);
    return storage;
  }

  release(storage: Storage): void {
    // An arena's storages go back with the arena, never one by one.
    if (!(storage instanceof CudaStorage) || storage.lease !== null || !storage.alive) return;
    storage.markReleased();
    this.collected.unregister(storage);
    this.addon.free(storage.ptr);
  }

  upload(dst: Tensor, src: HostTransferArray): void {
    if (src.byteLength !== byteSize(dst)) {
      throw new IrisError("INVALID_ARGUMENT", `upload: ${src.byteLength} bytes for ${dst} (${byteSize(dst)} bytes)`);
    }
    this.addon.upload(ptr(dst), src);
  }

  async download(src: Tensor): Promise<Float32Array | Int32Array> {
    const out = src.dtype === "I32" ? new Int32Array(src.numel) : new Float32Array(src.numel);
    await this.addon.download(ptr(src), byteSize(src), code(src), out);
    return out;
  }

  synchronize(): Promise<void> {
    return this.addon.synchronize();
  }

  /**
   * A stack allocator over one block of the caching allocator for one step's intermediates; its addresses repeat
   * from step to step. Giving memory back while kernels still read it is safe: every later user is ordered after
   * them on the device's one stream.
   */
  createArena(capacityBytes: number): Arena {
    return new StackArena<number>({
      allocateBlock: (bytes) => this.allocateBytes(bytes),
      releaseBlock: (address) => this.addon.free(address),
      view: (base, byteOffset, dtype, length, lease) => new CudaStorage(dtype, length, base + byteOffset, lease),
    }, capacityBytes);
  }

  /** The caching allocator's bytes: live, held from the driver, and the peak of live. */
  memoryStats(): CudaMemoryStats {
    return this.addon.stats();
  }

  /** The driver's free and total bytes of the device. */
  memoryInfo(): { readonly freeBytes: number; readonly totalBytes: number } {
    return this.addon.memoryInfo();
  }

  // ==== CUDA graphs ====

  /** The contract's view of the methods below. */
  readonly graphs: GraphCapture = {
    begin: () => this.beginCapture(),
    end: () => this.endCapture(),
    replay: (graph) => this.replay(graph),
    destroy: (graph) => this.destroyGraph(graph),
  };

  readonly timingMarks: TimingMarks = {
    record: () => this.addon.markRecord(),
    elapsedMs: (from, to) => this.addon.markElapsed(from, to),
    release: (mark) => this.addon.markRelease(mark),
  };

  /**
   * Starts capturing every kernel enqueued from now on into a graph instead of running it. Nothing may wait on the
   * device (download, synchronize) or upload until `endCapture`; the captured tensors' addresses are baked in.
   */
  beginCapture(): void {
    this.addon.graphBegin();
  }

  /** Ends the capture; the id replays the graph. */
  endCapture(): number {
    return this.addon.graphEnd();
  }

  /** Runs the captured kernels again, on whatever their tensors hold now. */
  replay(graph: number): void {
    this.addon.graphReplay(graph);
  }

  destroyGraph(graph: number): void {
    this.addon.graphDestroy(graph);
  }

  private allocateBytes(bytes: number): number {
    try {
      return this.addon.malloc(bytes);
    } catch (err) {
      throw new IrisError("OUT_OF_MEMORY", `cuda: ${(err as Error).message}`);
    }
  }

  // ==== elementwise and data movement ====

  fill(out: Tensor, value: number): void {
    this.addon.fill(code(out), ptr(out), out.numel, value);
  }

  fillUniform(out: Tensor, seed: number, low: number, high: number): void {
    this.addon.fillUniform(code(out), ptr(out), out.numel, seed >>> 0, low, high);
  }

  /** out = x converted between float dtypes (F32, BF16, F16), rounding to nearest even; same element count. */
  cast(out: Tensor, x: Tensor): void {
    this.addon.cast(code(out), ptr(out), code(x), ptr(x), x.numel);
  }

  copy(dst: Tensor, src: Tensor): void {
    this.addon.copy(ptr(dst), ptr(src), byteSize(src));
  }

  sliceColumns(out: Tensor, x: Tensor, start: number): void {
    const bytes = ELEMENT_BYTES[x.dtype], cols = x.shape[1], width = out.shape[1];
    this.addon.copy2D(ptr(out), width * bytes, ptr(x) + start * bytes, cols * bytes, width * bytes, x.shape[0]);
  }

  placeColumns(out: Tensor, x: Tensor, start: number): void {
    const bytes = ELEMENT_BYTES[x.dtype], cols = out.shape[1], width = x.shape[1];
    this.addon.copy2D(ptr(out) + start * bytes, cols * bytes, ptr(x), width * bytes, width * bytes, x.shape[0]);
  }

  add(out: Tensor, a: Tensor, b: Tensor): void {
    this.addon.add(code(a), ptr(out), ptr(a), ptr(b), a.numel, b.numel);
  }

  mul(out: Tensor, a: Tensor, b: Tensor): void {
    this.addon.mul(code(a), ptr(out), ptr(a), ptr(b), a.numel, b.numel);
  }

  scaleRows(out: Tensor, x: Tensor, scale: Tensor): void {
    const rows = scale.numel;
    this.addon.scaleRows(code(x), ptr(out), ptr(x), ptr(scale), rows, rows === 0 ? 0 : x.numel / rows);
  }

  siluAndMul(out: Tensor, x: Tensor): void {
    this.addon.siluAndMul(code(x), ptr(out), ptr(x), x.shape[0], out.shape[1]);
  }

  gelu(out: Tensor, x: Tensor): void {
    this.addon.gelu(code(x), ptr(out), ptr(x), x.numel);
  }

  // ==== indexing ====

  embedding(out: Tensor, ids: Tensor, table: Tensor): void {
    this.gatherRows(out, table, ids);
  }

  embeddingShard(out: Tensor, ids: Tensor, table: Tensor, start: number): void {
    this.addon.embeddingShard(ptr(out), ptr(table), ptr(ids), ids.numel, start, table.shape[0], table.shape[1] * ELEMENT_BYTES[table.dtype]);
  }

  gatherRows(out: Tensor, x: Tensor, index: Tensor): void {
    this.addon.gatherRows(ptr(out), ptr(x), ptr(index), index.numel, x.shape[0], x.shape[1] * ELEMENT_BYTES[x.dtype]);
  }

  scatterRows(dst: Tensor, index: Tensor, src: Tensor): void {
    this.addon.scatterRows(ptr(dst), ptr(index), ptr(src), index.numel, dst.shape[0], dst.shape[1] * ELEMENT_BYTES[dst.dtype]);
  }

  // ==== matrix products, normalization ====

  linear(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void {
    this.addon.linear(code(x), ptr(out), ptr(x), ptr(weight), optionalPtr(bias), x.shape[0], x.shape[1], weight.shape[0]);
  }

  readonly linearSiluAndMul: NonNullable<Backend["linearSiluAndMul"]> = (...args) => products.linearSiluAndMul(this.addon, ...args);
  readonly fusesNormedProducts: NonNullable<Backend["fusesNormedProducts"]> = (...args) => products.fusesNormedProducts(this.addon, ...args);
  readonly rmsNormLinear: NonNullable<Backend["rmsNormLinear"]> = (...args) => products.rmsNormLinear(this.addon, ...args);
  readonly linearAddResidual: NonNullable<Backend["linearAddResidual"]> = (...args) => products.linearAddResidual(this.addon, ...args);

  rmsNorm(out: Tensor, x: Tensor, weight: Tensor | null, eps: number): void {
    const H = lastDim(x);
    this.addon.rmsNorm(code(x), ptr(out), ptr(x), optionalPtr(weight), H === 0 ? 0 : x.numel / H, H, eps);
  }

  layerNorm(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor, eps: number): void {
    const H = lastDim(x);
    this.addon.layerNorm(code(x), ptr(out), ptr(x), ptr(weight), ptr(bias), H === 0 ? 0 : x.numel / H, H, eps);
  }

  softmax(out: Tensor, x: Tensor): void {
    const H = lastDim(x);
    this.addon.softmax(code(x), ptr(out), ptr(x), H === 0 ? 0 : x.numel / H, H);
  }

  // ==== fused kernels ====

  /** residual += x (rounded to the storage type as `add` rounds), then out = rmsNorm(residual) * weight. */
  addRmsNorm(out: Tensor, residual: Tensor, x: Tensor, weight: Tensor | null, eps: number): void {
    const H = lastDim(x);
    this.addon.addRmsNorm(code(x), ptr(out), ptr(residual), ptr(x), optionalPtr(weight), H === 0 ? 0 : x.numel / H, H, eps);
  }

  /**
   * From the fused projection qkv [T, (Hq + 2 Hk) * D]: q [T, Hq, D] = rotated q; the rotated k and the v rows go
   * straight into the caches at slotMapping[t] (negative: skipped), as sliceColumns, applyRotary and storeKV would
   * (and Llama 4's QK norm or query temperature, `after`).
   */
  rotaryStoreKV(q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, slotMapping: Tensor,
    style: RotaryStyle, after: QkAfterRotary = {}): void {
    const [T, Hq, D] = q.shape, Hk = kCache.shape[1];
    this.addon.rotaryStoreKV(code(q), ptr(q), ptr(kCache), ptr(vCache), ptr(qkv), ptr(cos), ptr(sin), ptr(slotMapping), T, Hq, Hk,
      D, after.rotate === false ? 0 : cos.shape[1], style === "interleaved" ? 1 : 0, kCache.shape[0], after.qkNormEps ?? -1,
      optionalPtr(after.queryScales ?? null));
  }

  // ==== rotary position embedding ====

  ropeCosSin(cos: Tensor, sin: Tensor, positions: Tensor, invFreq: Tensor, section: Tensor | null): void {
    this.addon.ropeCosSin(ptr(cos), ptr(sin), ptr(positions), ptr(invFreq), optionalPtr(section), positions.shape[0],
      positions.shape[1], invFreq.numel);
  }

  applyRotary(x: Tensor, cos: Tensor, sin: Tensor, style: RotaryStyle, y?: Tensor): void {
    this.addon.applyRotary(code(x), ptr(x), optionalPtr(y), ptr(cos), ptr(sin), x.shape[0], x.shape[1], y?.shape[1] ?? 0,
      x.shape[2], cos.shape[1], style === "interleaved" ? 1 : 0);
  }

  // ==== attention ====

  /** Whether bf16 prefill and vision attention run on the tensor-core kernel (true, the default) or the scalar one. */
  useAttentionMma(enabled: boolean): void {
    this.addon.setAttentionMma(enabled ? 1 : 0);
  }

  attention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, segments: Segments, options: AttentionOptions): void {
    const S = segments.cuSeqlens.numel - 1;
    this.addon.attention(code(q), ptr(out), ptr(q), ptr(k), ptr(v), ptr(segments.cuSeqlens), 0, 0, q.shape[0], S, q.shape[1],
      k.shape[1], q.shape[2], 0, 0, 0, segments.maxSeqLen, segments.maxSeqLen, options.scale, options.causal ? 1 : 0, 0, 0,
      this.attentionSplits);
  }

  rotaryAttentionQKV(out: Tensor, qkv: Tensor, numKvHeads: number, cos: Tensor, sin: Tensor, style: RotaryStyle, segments: Segments,
    options: AttentionOptions): boolean {
    return fusedQkv.rotaryAttentionQKV(this.addon, this.attentionSplits, out, qkv, numKvHeads, cos, sin, style, segments, options);
  }

  storeKV(k: Tensor, v: Tensor, kCache: Tensor, vCache: Tensor, slotMapping: Tensor): void {
    const T = slotMapping.numel;
    const rowBytes = k.shape[0] === 0 ? 0 : (k.numel / k.shape[0]) * ELEMENT_BYTES[k.dtype];
    this.addon.storeKV(ptr(k), ptr(v), ptr(kCache), ptr(vCache), ptr(slotMapping), T, rowBytes, kCache.shape[0]);
  }

  pagedAttention(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, meta: PagedAttentionMeta,
    options: PagedAttentionOptions): void {
    const S = meta.pageTable.shape[0];
    this.addon.attention(code(q), ptr(out), ptr(q), ptr(kCache), ptr(vCache), ptr(meta.queryStart), ptr(meta.kvLens),
      ptr(meta.pageTable), q.shape[0], S, q.shape[1], kCache.shape[1], q.shape[2], meta.pageTable.shape[1], meta.pageSize,
      kCache.shape[0], meta.maxQueryLen, meta.maxKvLen, options.scale, 1, options.chunkSize ?? 0, 1, this.attentionSplits);
  }

  // ==== mixture of experts ====

  /**
   * Routing, grouping by expert and both grouped products on the device (native/cuda/kernels/moe.cu). The scratch
   * comes from the device, so from the step's arena while a step runs (a captured graph holds no block of its own).
   */
  moeTop1Sigmoid(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Tensor, down: Tensor): void {
    const [T, H] = x.shape, E = routerLogits.shape[1], I = down.shape[1];
    if (T === 0) return;
    const bytes = this.addon.moeScratchBytes(code(x), T, H, E, I);
    const scratch = x.device.allocate("I32", Math.ceil(bytes / 4)) as CudaStorage;
    try {
      this.addon.moeTop1Sigmoid(code(x), ptr(out), ptr(x), ptr(routerLogits), ptr(gateUp), ptr(down), T, H, E, I, scratch.ptr, bytes);
    } finally {
      // Outside an arena: back to the allocator at once (stream order keeps it until the kernels are done).
      if (scratch.lease === null) this.release(scratch);
    }
  }

  /** As moeTop1Sigmoid, with FP8 experts (native/cuda/kernels/fp8_moe.cu); the scratch again from the device. */
  moeTop1SigmoidFp8(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight): void {
    const [T, H] = x.shape, E = routerLogits.shape[1], I = down.data.shape[2];
    if (T === 0) return;
    const bytes = this.addon.moeFp8ScratchBytes(code(x), T, H, E, I);
    const scratch = x.device.allocate("I32", Math.ceil(bytes / 4)) as CudaStorage;
    try {
      this.addon.moeTop1SigmoidFp8(code(x), ptr(out), ptr(x), ptr(routerLogits), ptr(gateUp.data), ptr(gateUp.scale), ptr(down.data),
        ptr(down.scale), T, H, E, I, scratch.ptr, bytes);
    } finally {
      if (scratch.lease === null) this.release(scratch);
    }
  }

  // ==== sampling ====

  argmax(out: Tensor, logits: Tensor): void {
    this.addon.argmax(code(logits), ptr(out), ptr(logits), logits.shape[0], logits.shape[1]);
  }

  applyPenalties(logits: Tensor, p: Penalties): void {
    this.addon.applyPenalties(ptr(logits), ptr(p.tokenIds), ptr(p.outputCounts), ptr(p.rowStart), ptr(p.repetition),
      ptr(p.frequency), ptr(p.presence), logits.shape[0], logits.shape[1]);
  }

  applyTokenMask(logits: Tensor, bitmask: Tensor, rows: Tensor): void {
    this.addon.applyTokenMask(ptr(logits), ptr(bitmask), ptr(rows), rows.numel, logits.shape[0], logits.shape[1], bitmask.shape[1]);
  }

  sample(out: Tensor, logits: Tensor, p: SamplingTensors): void {
    this.addon.sample(ptr(out), ptr(logits), ptr(p.temperature), ptr(p.topK), ptr(p.topP), ptr(p.minP), ptr(p.uniform),
      logits.shape[0], logits.shape[1]);
  }

  // ==== logprobs (native/cuda/kernels/logprobs.cu) ====

  logSoftmax(out: Tensor, x: Tensor): void {
    this.addon.logSoftmax(ptr(out), ptr(x), x.shape[0], x.shape[1]);
  }

  /** As on cpu, except that an id outside [0, V) gives NaN instead of an error (a kernel cannot throw). */
  gatherColumns(out: Tensor, x: Tensor, index: Tensor): void {
    this.addon.gatherColumns(ptr(out), ptr(x), ptr(index), x.shape[0], x.shape[1], index.shape[1]);
  }

  topK(values: Tensor, ids: Tensor, x: Tensor): void {
    this.addon.topK(ptr(values), ptr(ids), ptr(x), x.shape[0], x.shape[1], values.shape[1]);
  }
  // ==== FP8 (fp8-ops.ts; the experts above), images (image-ops.ts) ====

  readonly quantizeFp8: Backend["quantizeFp8"] = (...args) => fp8.quantizeFp8(this.addon, ...args);
  readonly linearFp8: Backend["linearFp8"] = (...args) => fp8.linearFp8(this.addon, ...args);
  readonly moeTop1SigmoidFp8Shared: Backend["moeTop1SigmoidFp8Shared"] = (...args) =>
    fp8.moeTop1SigmoidFp8Shared(this.addon, (s) => this.release(s), ...args);
  /** The addon's choice (tuneCudaKernels' fp8QuantizeInProduct, else its default): linearFp8's callers follow it. */
  get fp8QuantizeInProduct(): boolean { return fp8QuantizesInProduct(this.addon); }
  readonly patchifyImage: Backend["patchifyImage"] = (...args) => images.patchifyImage(this.addon, ...args);
  readonly resizeImage: Backend["resizeImage"] = (...args) => images.resizeImage(this.addon, ...args);
}

/** The cuda backend of device `index`; a clear IrisError when the addon or the device is missing. */
export function createCudaBackend(index: number): CudaBackend {
  const { addon, reason } = cudaAddonStatus();
  if (addon === null) throw new IrisError("INVALID_ARGUMENT", `the cuda device is unavailable: ${reason}`);
  try {
    return new CudaBackend(addon, index);
  } catch (err) {
    throw new IrisError("INVALID_ARGUMENT", `the cuda device ${index} is unavailable: ${(err as Error).message}`);
  }
}
