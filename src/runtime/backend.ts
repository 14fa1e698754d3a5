import type { AttentionOptions, PagedAttentionMeta, PagedAttentionOptions, Segments } from "./attention-types.js";
import type { DeviceKind } from "./device-kind.js";
import type { HostTransferArray, TensorDType } from "./dtype.js";
import type { Fp8Weight } from "./fp8-weight.js";
import type { ImageResize, PatchGeometry } from "./image-geometry.js";
import type { ProductFusions } from "./product-fusions.js";
import type { Storage, Tensor } from "./tensor.js";

export type { ImageResize, PatchGeometry, ResizeAxis } from "./image-geometry.js";
export type { AttentionOptions, PagedAttentionMeta, PagedAttentionOptions, Segments } from "./attention-types.js";

/**
 * The contract every backend implements: memory, then one method per kernel.
 *
 * Conventions for every kernel:
 * - Tensors are contiguous and row-major (see `Tensor`); shapes below use T tokens, H hidden, D head dim.
 * - Kernels are destination-passing: the caller allocates `out` (the wrappers in src/kernels do it) so a GPU
 *   backend can run on preallocated buffers and capture graphs. `out` never aliases an input unless the method
 *   says "may alias".
 * - "float" means the backend's `floatDType` (F32 on cpu, BF16 on cuda); all float tensors of one call share
 *   it unless a parameter is said to be F32. Indices are I32.
 * - Kernels enqueue work and return; on cuda they run asynchronously in stream order, so a kernel never reads
 *   device memory back to the host. Only `download` and `synchronize` wait.
 * - Shapes and dtypes are checked by the wrappers in src/kernels before a backend is called; backends check
 *   what only they can see (index ranges on cpu) and treat everything else as given.
 */
export interface Backend extends ProductFusions {
  readonly kind: DeviceKind;
  /** The dtype of activations and widened weights: F32 on cpu. */
  readonly floatDType: TensorDType;
  supportsDType(dtype: TensorDType): boolean;

  // ==== memory ====

  /** New storage of `length` elements, contents undefined. A caching allocator lives behind this. */
  allocate(dtype: TensorDType, length: number): Storage;
  /** Gives the storage back; it must not be used afterwards. */
  release(storage: Storage): void;
  /**
   * Copies host elements into `dst` (which may be a view). `src` is in `dst`'s dtype representation (16-bit floats
   * as raw bits) and has `dst.numel` elements; the caller may reuse `src` as soon as this returns.
   */
  upload(dst: Tensor, src: HostTransferArray): void;
  /** Copies `src` to the host once prior work finished: F32, BF16, F16 widen to Float32Array; I32 gives Int32Array. */
  download(src: Tensor): Promise<Float32Array | Int32Array>;
  /** Resolves once all work enqueued so far has finished. */
  synchronize(): Promise<void>;
  /**
   * A stack allocator over one block of memory for the intermediates of a step (see `Arena`). `capacityBytes` is
   * its first size; an arena may grow to the peak a step reached (at `reset`), never during a step's kernels.
   */
  createArena(capacityBytes: number): Arena;
  /** The general allocator's bytes (`allocate`/`release`); arenas count as one allocation each. */
  memoryStats(): MemoryStats;
  /** What the device is, where there is more to say than its kind (a GPU's name and memory). */
  readonly description?: string;
  /** The device's free and total bytes, where the backend owns a memory of its own (a GPU). */
  memoryInfo?(): { readonly freeBytes: number; readonly totalBytes: number };
  /** Capturing kernels into graphs replayed with one call (CUDA graphs); absent where the backend has none. */
  readonly graphs?: GraphCapture;
  /** Marks in the device's order of work, for profiling (the engine's step profile); absent where it has none. */
  readonly timingMarks?: TimingMarks;
  /**
   * Whether `linearFp8` callers hand a decode-size x over in float with a null xScale (the product quantizes it) rather
   * than quantizeFp8's bytes (kernels/linear-fp8.ts quantizesInProduct); absent: they do. cuda: a kernel choice
   * (runtime/cuda/kernel-tuning.ts fp8QuantizeInProduct), which moeTop1SigmoidFp8 follows too.
   */
  readonly fp8QuantizeInProduct?: boolean;

  // ==== elementwise and data movement ====

  /** out = x converted between float dtypes (F32, BF16, F16), rounding to nearest even; same element count. */
  cast(out: Tensor, x: Tensor): void;

  /** Sets every element of `out` (float or I32) to `value`. */
  fill(out: Tensor, value: number): void;
  /**
   * Fills float `out` with values uniform in [low, high) from a counter-based hash of (seed, element index), so
   * every backend draws the same values (see `uniformHash`): dummy weights are made where they live. An F8_E4M3
   * `out` receives each value encoded as quantizeFp8 encodes (dummy FP8 weights, made without a float copy).
   */
  fillUniform(out: Tensor, seed: number, low: number, high: number): void;
  /** `dst = src`; same dtype and element count (shapes may differ), no overlap. */
  copy(dst: Tensor, src: Tensor): void;
  /** out [T, W] = columns `start .. start+W-1` of x [T, C]: splits a fused projection (q|k|v, gate|up). */
  sliceColumns(out: Tensor, x: Tensor, start: number): void;
  /** In place: columns `start .. start+W-1` of out [T, C] = x [T, W] (the inverse of `sliceColumns`); same dtype. */
  placeColumns(out: Tensor, x: Tensor, start: number): void;
  /** out = a + b. `b` has a's shape or a trailing part of it and is broadcast over the leading dims; out may alias a. */
  add(out: Tensor, a: Tensor, b: Tensor): void;
  /** out = a * b elementwise, broadcasting `b` as in `add`; out may alias a. */
  mul(out: Tensor, a: Tensor, b: Tensor): void;
  /** out[t, ...] = x[t, ...] * scale[t]; `scale` is F32 [T]; out may alias x. */
  scaleRows(out: Tensor, x: Tensor, scale: Tensor): void;
  /** out [T, I] = silu(x[:, :I]) * x[:, I:] for x [T, 2I]. */
  siluAndMul(out: Tensor, x: Tensor): void;
  /** out = gelu(x) with the exact erf form (torch `nn.GELU()`); out may alias x. */
  gelu(out: Tensor, x: Tensor): void;

  // ==== indexing ====

  /** out [T, H] = table[ids[t]] for ids I32 [T], table [V, H]. Ids must lie in [0, V). */
  embedding(out: Tensor, ids: Tensor, table: Tensor): void;
  /**
   * A vocabulary shard's embeddings (tensor parallelism): out[t] = table[ids[t] - start] where start <= ids[t] <
   * start + R, else zeros, for table [R, H]. Summed over the ranks' shards this is `embedding` over the whole table.
   */
  embeddingShard(out: Tensor, ids: Tensor, table: Tensor, start: number): void;
  /** out [M, H] = x[index[m]] for x [N, H] (float or I32), index I32 [M]. */
  gatherRows(out: Tensor, x: Tensor, index: Tensor): void;
  /** In place: dst[index[n]] = src[n] for dst [T, H] (float or I32), index I32 [N], src [N, H]; indices distinct. */
  scatterRows(dst: Tensor, index: Tensor, src: Tensor): void;

  // ==== matrix products ====

  /** out [T, N] = x [T, K] · weightᵀ + bias, with weight [N, K] (nn.Linear layout) and bias [N] or null. */
  linear(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): void;
  // Optional fusions of the products (linearSiluAndMul, rmsNormLinear, ...): ProductFusions.

  // ==== FP8 (E4M3 bytes, core/fp8.ts: round to nearest even, saturating to ±448) ====

  /**
   * Quantizes rows of floats to FP8 with one F32 scale per row: scale[r] = max(amax_r / 448, 2^-126) (the division
   * rounded to fp32), q[r, c] = e4m3(x[r, c] / scale[r]) (the quotient rounded to fp32, then to E4M3). x [..., R, C]
   * gives q [..., R, C] and scale [..., R]. With `transpose`, x is [..., C, R]: its columns are the rows (stacked
   * expert weights in the x·W layout become per-expert nn.Linear rows, one scale per expert and output channel).
   * Serves weights while loading and activations per token in every FP8 product.
   */
  quantizeFp8(q: Tensor, scale: Tensor, x: Tensor, transpose: boolean): void;
  /**
   * out [T, N] (float) = fp32(Σ_k x[t, k] · w[n, k]) · xScale[t] · weight.scale[n] + bias[n], the sums over the FP8
   * values themselves (every product is exact in fp32) and the scales applied once after: x F8 [T, K] with xScale F32
   * [T] (quantizeFp8 of the activations, per token), weight.data F8 [N, K] with weight.scale F32 [N]; bias float [N]
   * or null. With xScale null, x is float (out's dtype) and is quantized per token inside, byte for byte as
   * quantizeFp8 would: one launch at decode instead of two. Callers pass null only within FUSED_FP8_QUANTIZE
   * (kernels/linear-fp8.ts: what the cuda kernel holds in shared memory).
   */
  linearFp8(out: Tensor, x: Tensor, xScale: Tensor | null, weight: Fp8Weight, bias: Tensor | null): void;

  // ==== normalization ====

  /**
   * RMS normalization over the last dim H of x [..., H]: x * rsqrt(mean(x²) + eps) * weight, statistics in fp32.
   * `weight` [H] or null (a weightless normalization: Llama 4's QK norm). out may alias x.
   */
  rmsNorm(out: Tensor, x: Tensor, weight: Tensor | null, eps: number): void;
  /**
   * The residual connection and the next norm in one pass: residual += x (rounded to its dtype as `add` stores it),
   * then out = rmsNorm(residual) * weight. residual, x and out [..., H] of one float dtype; out aliases neither.
   */
  addRmsNorm(out: Tensor, residual: Tensor, x: Tensor, weight: Tensor | null, eps: number): void;
  /** LayerNorm over the last dim: (x - mean) * rsqrt(var + eps) * weight + bias (biased variance). out may alias x. */
  layerNorm(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor, eps: number): void;
  /** Softmax over the last dim, computed in fp32. out may alias x. */
  softmax(out: Tensor, x: Tensor): void;

  // ==== rotary position embedding ====

  /**
   * Rotary tables: cos/sin [T, R] (F32) with angle[t, j] = positions[t, section[j]] * invFreq[j], the product
   * rounded to fp32 as torch computes it. positions I32 [T, P]; invFreq F32 [R]; section I32 [R] with values in
   * [0, P), or null when P = 1. One kernel covers 1-D RoPE, Qwen's M-RoPE (P = 3) and 2-D vision RoPE (P = 2).
   */
  ropeCosSin(cos: Tensor, sin: Tensor, positions: Tensor, invFreq: Tensor, section: Tensor | null): void;
  /**
   * In place on x [T, heads, D]: rotates the first 2R dims by angles whose cos/sin are F32 [T, R], 2R <= D.
   * "neox" (rotate_half): pairs (d, d+R) with angle d. "interleaved" (complex): pairs (2m, 2m+1) with angle m.
   * `y` [T, headsY, D] of x's dtype, apart from x: rotated too by the same angles in the same call (q and k, which
   * share their positions: one launch, each angle read once for both).
   */
  applyRotary(x: Tensor, cos: Tensor, sin: Tensor, style: RotaryStyle, y?: Tensor): void;
  /**
   * From a fused projection qkv [T, (Hq + 2 Hk) D]: q [T, Hq, D] gets the rotated queries, and the rotated keys and
   * the values go straight into the caches [numSlots, Hk, D] at rows slotMapping[t] (negative: skipped), as
   * splitting the columns, `applyRotary` on q and k, and `storeKV` would. `after` adds what Llama 4 does to q and k
   * between the projection and the cache (QkAfterRotary), as its separate kernels would.
   */
  rotaryStoreKV(q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, slotMapping: Tensor, style: RotaryStyle,
    after?: QkAfterRotary): void;

  // ==== attention ====

  /**
   * Softmax attention inside each packed segment: out [T, Hq, D] from q [T, Hq, D], k and v [T, Hk, D]; segment s
   * covers rows cuSeqlens[s] .. cuSeqlens[s+1]-1 (I32 [S+1], non-decreasing, from 0 to T). KV head j serves q
   * heads j*g .. j*g+g-1 with g = Hq/Hk. `causal`: row i attends to rows <= i of its segment.
   */
  attention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, segments: Segments, options: AttentionOptions): void;
  /**
   * `attention` straight from a fused projection qkv [T, Hq + 2 Hk, D] (a row's q heads, then its Hk = numKvHeads k
   * heads, then its v heads): rotates the q and k heads in place by cos/sin as `applyRotary` would, then writes out
   * [T, Hq, D] from q, k and v read where they are; the values of splitting the columns, `applyRotary(q, ..., k)` and
   * `attention`, without the copies. Returns false, having enqueued nothing, where this backend has no such path for
   * these operands; the caller then runs those.
   */
  rotaryAttentionQKV?(out: Tensor, qkv: Tensor, numKvHeads: number, cos: Tensor, sin: Tensor, style: RotaryStyle, segments: Segments,
    options: AttentionOptions): boolean;
  /**
   * Writes k, v [T, Hk, D] into the caches [numSlots, Hk, D] at rows slotMapping[t] (I32 [T]); a negative slot
   * skips the token (padding).
   */
  storeKV(k: Tensor, v: Tensor, kCache: Tensor, vCache: Tensor, slotMapping: Tensor): void;
  /**
   * Attention of q [T, Hq, D] over the paged caches for a batch of sequences (see `PagedAttentionMeta`): query i
   * of a sequence with qLen queries and kvLen keys sits at position kvLen - qLen + i and attends to the keys at
   * positions <= its own (and, with `chunkSize`, in its chunk). Serves prefill, prefix-cached and chunked prefill
   * and decode in one batch. The keys of this step must already be stored (`storeKV`).
   */
  pagedAttention(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, meta: PagedAttentionMeta,
    options: PagedAttentionOptions): void;

  // ==== mixture of experts ====

  /**
   * Llama 4's routed experts, top-1 with a sigmoid score: per token t, e = argmax(routerLogits[t]) (first on
   * ties), s = sigmoid(routerLogits[t, e]), h = (x[t] * s) · gateUp[e] ([H, 2I]: x·W layout, gate then up),
   * out[t] = (silu(h[:I]) * h[I:]) · down[e] ([I, H]). x [T, H], routerLogits [T, E] -> out [T, H].
   */
  moeTop1Sigmoid(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Tensor, down: Tensor): void;
  /**
   * `moeTop1Sigmoid` with FP8 experts in nn.Linear layout: gateUp.data F8 [E, 2I, H] (gate rows, then up) with scales
   * [E, 2I], down.data F8 [E, H, I] with scales [E, H]. The expert input x[t] * s and the activation silu(g) * u are
   * each quantized per token (as quantizeFp8) and multiplied as linearFp8 multiplies.
   */
  moeTop1SigmoidFp8(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight): void;
  /**
   * Optional fusion of Llama 4's shared expert into `moeTop1SigmoidFp8`: out = the routed experts' output + the shared
   * SwiGLU expert's on the unscaled x (sharedGateUp.data F8 [2I, H] gate rows first, sharedDown.data F8 [H, I], row
   * scales, no bias), each rounded to the float type and then added as `add` adds them. Returns false, having enqueued
   * nothing, where this backend does not fold these sizes; the caller then runs the kernels one by one.
   */
  moeTop1SigmoidFp8Shared?(out: Tensor, x: Tensor, routerLogits: Tensor, gateUp: Fp8Weight, down: Fp8Weight,
    sharedGateUp: Fp8Weight, sharedDown: Fp8Weight): boolean;

  // ==== sampling ====

  /** out I32 [B] = index of the first maximum of each row of logits [B, V]. */
  argmax(out: Tensor, logits: Tensor): void;
  /**
   * In place on logits F32 [B, V], structured output's mask: for each m < M, logits[rows[m], t] = -inf wherever bit
   * (t & 31) of bitmask[m, t >> 5] is 0 (bitmask I32 [M, W], W >= ceil(V / 32); rows I32 [M] in [0, B)).
   */
  applyTokenMask(logits: Tensor, bitmask: Tensor, rows: Tensor): void;
  /** In place on logits F32 [B, V]: frequency and presence penalties, then the repetition penalty (see `Penalties`). */
  applyPenalties(logits: Tensor, penalties: Penalties): void;
  /** out I32 [B]: one token per row of logits F32 [B, V] (left unchanged) under `params` (see `SamplingTensors`). */
  sample(out: Tensor, logits: Tensor, params: SamplingTensors): void;

  // ==== logprobs ====

  /** out F32 [R, V] = log_softmax of each row of x F32 [R, V] (max-subtracted, sums in float64); `out` may be x. */
  logSoftmax(out: Tensor, x: Tensor): void;
  /** out F32 [R, G]: out[r, j] = x[r, index[r, j]] for x F32 [R, V] and index I32 [R, G] of ids in [0, V). */
  gatherColumns(out: Tensor, x: Tensor, index: Tensor): void;
  /** values F32 [R, K], ids I32 [R, K]: each row's K largest entries of x F32 [R, V], largest first, ties to the lower id. */
  topK(values: Tensor, ids: Tensor, x: Tensor): void;

  // ==== image preprocessing ====

  /**
   * Qwen2-VL's patch rows of one resized RGB picture: out [gridH * gridW, 3 * temporal * patch^2] (float) from
   * `pixels`, the picture's bytes (row-major RGB, height x width x 3) packed four to an I32 element little-endian
   * (byte i is bits 8 * (i % 4) of element i / 4; there is no 8-bit device dtype), each byte mapped through `table`
   * F32 [3, 256] (its channel's value per level: the processor's rescale and normalize, rounded as it rounds).
   * Rows go over merge x merge blocks row-major and, inside a block, over its patches row-major; each row holds
   * channel, then temporal copy (a still picture repeats its frame), then patch row, then patch column.
   */
  patchifyImage(out: Tensor, pixels: Tensor, table: Tensor, geometry: PatchGeometry): void;
  /**
   * An interleaved 8-bit RGB picture resized with fixed-point weights per axis, in the integer arithmetic of
   * src/core/resample-passes.ts (torchvision's antialiased resize of uint8): `pixels` holds srcHeight x srcWidth x 3
   * bytes and `out` height x width x 3, both packed four to an I32 element as `patchifyImage` reads them (the padding
   * bytes of out's last element are left as they are). The horizontal pass runs when `horizontal` is given, into
   * `scratch` (srcHeight x width x 3 bytes, packed the same way; null unless both passes run) when the vertical pass
   * follows, else into `out`; with neither, `out` is a copy.
   */
  resizeImage(out: Tensor, pixels: Tensor, scratch: Tensor | null, resize: ImageResize): void;
}

export type RotaryStyle = "neox" | "interleaved";

/** Llama 4's steps on q and k around the rotation (Backend.rotaryStoreKV). */
export interface QkAfterRotary {
  /** false: no rotation (NoPE layers; cos and sin unread). Default true. */
  readonly rotate?: boolean;
  /** RMS-normalize every q and k head after the rotation, without a gain, with this epsilon (the QK norm). */
  readonly qkNormEps?: number;
  /** F32 [T]: each token's query row times its value (attention temperature on NoPE layers). */
  readonly queryScales?: Tensor;
}

/**
 * Memory for one step's intermediates: storages are drawn from the top of a stack (256-byte aligned) and given back
 * all at once by `rewind` or `reset`, never one by one. The same sequence of requests gives the same offsets every
 * time, which is what replaying a captured CUDA graph over it needs. A storage given back reports `alive` false,
 * so the kernels' liveness checks catch a use after the step.
 */
/**
 * Records the kernels enqueued between `begin` and `end` instead of running them; `replay` runs them again on
 * whatever their tensors hold then. The tensors' memory is baked in: inputs are refilled in place before a replay,
 * and nothing may upload or wait on the device while a capture runs.
 */
export interface GraphCapture {
  begin(): void;
  /** Ends the capture; the id replays it. */
  end(): number;
  replay(graph: number): void;
  destroy(graph: number): void;
}

/**
 * Timing marks: `record` notes the moment the device reaches this point of the enqueued work; `elapsedMs` is the
 * device time between two marks, readable once the work after both has been waited for (a download). A backend
 * whose kernels run as they are called (the cpu) marks the host's clock.
 */
export interface TimingMarks {
  record(): number;
  elapsedMs(from: number, to: number): number;
  release(mark: number): void;
}

export interface Arena {
  readonly capacityBytes: number;
  /** Bytes drawn now (alignment included). */
  readonly usedBytes: number;
  /** The most bytes drawn at once since the arena was made. */
  readonly peakBytes: number;
  /** Storage of `length` elements; past the capacity an arena takes an overflow block, kept until `reset`. */
  allocate(dtype: TensorDType, length: number): Storage;
  /** The top of the stack, for `rewind`. */
  mark(): number;
  /** Gives back everything drawn since `mark`. */
  rewind(mark: number): void;
  /** Gives back everything; grows the block to the peak if a step overflowed it. */
  reset(): void;
  /** Returns the block to the backend; the arena must not be used afterwards. */
  destroy(): void;
}

export interface MemoryStats {
  /** Bytes of live storages. */
  readonly allocatedBytes: number;
  /** Bytes held from the system (the caching allocator's pool included). */
  readonly reservedBytes: number;
  /** The most `allocatedBytes` has been. */
  readonly peakAllocatedBytes: number;
}

/**
 * Penalties of SGLang's sampling parameters, for B rows. Per row, `tokenIds` lists each distinct token seen in
 * prompt + output once, with how often it occurs in the output. Applied as SGLang does, additive first:
 * logit -= frequency * count + presence * (count > 0), then for every listed token the repetition penalty
 * (Hugging Face style): logit > 0 ? logit / repetition : logit * repetition.
 */
export interface Penalties {
  /** I32 [N]: row r owns entries rowStart[r] .. rowStart[r+1]-1; ids distinct within a row. */
  readonly tokenIds: Tensor;
  /** I32 [N]: occurrences of the token in the row's output (0: seen in the prompt only). */
  readonly outputCounts: Tensor;
  /** I32 [B+1]. */
  readonly rowStart: Tensor;
  /** F32 [B]: 1 = none. */
  readonly repetition: Tensor;
  /** F32 [B]: 0 = none. */
  readonly frequency: Tensor;
  /** F32 [B]: 0 = none. */
  readonly presence: Tensor;
}

/**
 * Per-row sampling parameters (SGLang's order): a row with temperature < 1e-6 or topK == 1 takes the argmax.
 * Otherwise probs = softmax(logits / temperature); keep the tokens (sorted by probability, ties to the lower id)
 * that are among the first topK, whose preceding probability mass is <= topP, and whose probability is
 * >= minP * max prob; then draw with `uniform`: the first kept token whose cumulative kept mass exceeds
 * uniform * (kept mass). Taking the uniform numbers as input makes the draw deterministic and backend independent.
 */
export interface SamplingTensors {
  /** F32 [B]. */
  readonly temperature: Tensor;
  /** I32 [B]: <= 0 or >= V keeps all (SGLang's -1 and 1 << 30). */
  readonly topK: Tensor;
  /** F32 [B] in (0, 1]. */
  readonly topP: Tensor;
  /** F32 [B] in [0, 1]. */
  readonly minP: Tensor;
  /** F32 [B] in [0, 1): one draw per row, from the request's seeded generator. */
  readonly uniform: Tensor;
}
