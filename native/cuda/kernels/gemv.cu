// Skinny matrix products for decode: out[T, N] = x[T, K] · w[N, K]ᵀ (+ bias) with one or two rows, bf16. Such a product
// is a stream of the weights (T*K is tiny), so it runs at the speed the weights arrive: one warp per weight row,
// each lane reading 16-byte chunks with streaming loads (the weights are read once; keep them out of L1), all of a
// lane's loads in a batch issued before the first is used. x stays in L1/L2, read by every warp. fp32 sums, one
// warp reduction per output. cuBLASLt keeps every other shape (prefill).
// The gated form (gemvSiluAndMul: a SwiGLU MLP's gate|up product with its activation) gives each block the gate rows
// and the up rows of the same outputs, and writes silu(gate) * up instead of both: the siluAndMul kernel's launch and
// its round trip through memory go (at batch 1 on Qwen2.5-VL-3B: 1.6 µs of each layer's ~58).
// Two edges fuse a decode layer's norms and residual adds into its products (the addRmsNorm kernel between them goes):
// - NORM: x is the residual stream h and the product takes rmsNorm(h) * normWeight. Every block normalizes the (at
//   most kNormMaxK-wide) rows itself into shared memory, in the order addRmsNorm sums a row of 2,048 with its 256
//   threads, so at that width the product sees the very bf16 values addRmsNorm would have written. Its loads go out
//   together (a first version loaded a value at a time: gate|up took 29.6 µs against 22.0 with addRmsNorm apart);
// - RESIDUAL: out is the residual stream and each output is added into it, rounded as the product then `add` round.
// A layer's norm is recomputed by each block (a few KB from L2 while its first weights are on their way) rather than
// by a kernel of its own: at batch 1 that launch and its round trip cost ~1.4 µs, twice a layer.
#include <cstdint>

#include "dependent_launch.cuh"
#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kGemvWarps = 8;
constexpr int kBatch = 8;  // 16-byte loads in flight per lane before the first use (the first batch before the wait)
// Blocks a multiprocessor each variant is held to (64 registers a thread): the edges' extra registers (the norm's
// loads, the residual's values) would otherwise cost the products a block of streaming warps (ptxas: 70-78 registers).
constexpr int kGemvBlocksPerSM = 4;
constexpr int kNormMaxK = int(kGemvNormMaxK);  // the NORM edge's widest rows (T x 8 KB of shared memory)

// A row's sum as the product stores it: the bias added, rounded to bf16.
__device__ __forceinline__ __nv_bfloat16 storedSum(float sum, const __nv_bfloat16* bias, int row) {
  return __float2bfloat16_rn(bias == nullptr ? sum : sum + __bfloat162float(bias[row]));
}

__device__ __forceinline__ void accumulate8(float& acc, const uint4& w, const uint4& x) {
  const __nv_bfloat162* wp = reinterpret_cast<const __nv_bfloat162*>(&w);
  const __nv_bfloat162* xp = reinterpret_cast<const __nv_bfloat162*>(&x);
#pragma unroll
  for (int e = 0; e < 4; e++) {
    const float2 wf = __bfloat1622float2(wp[e]), xf = __bfloat1622float2(xp[e]);
    acc = fmaf(wf.x, xf.x, acc);
    acc = fmaf(wf.y, xf.y, acc);
  }
}

// ==== kernels ====

// The NORM edge's 16-byte chunks of a row a thread holds (thread i: chunks i, i + 256, ...): K <= kNormMaxK.
constexpr int kNormChunks = kNormMaxK / 8 / (kGemvWarps * 32);

// x's T rows normalized into shared memory as addRmsNorm leaves them: rmsNorm(row) * weight rounded to bf16, the
// statistics in fp32, each thread summing its chunks' values in order, then the block's sum (addRmsNorm's order at K =
// 2,048: its 256 threads hold 8 values each). Every load of the rows is issued before the first is used (one L2
// round trip, not one a value); `weight` is the norm's weights of this thread's chunks, read before the wait.
template <int T>
__device__ __forceinline__ void normalizeRows(__nv_bfloat16* normed, const __nv_bfloat16* x, const uint4 (&weight)[kNormChunks],
                                              int K, float eps) {
  __shared__ float scratch[32];
  const int chunks = K / 8;
  uint4 raw[T][kNormChunks];
#pragma unroll
  for (int t = 0; t < T; t++)
#pragma unroll
    for (int i = 0; i < kNormChunks; i++) {
      const int c = threadIdx.x + i * kGemvWarps * 32;
      raw[t][i] = c < chunks ? __ldg(reinterpret_cast<const uint4*>(x + size_t(t) * K) + c) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
  for (int t = 0; t < T; t++) {
    float ss = 0.f;
#pragma unroll
    for (int i = 0; i < kNormChunks; i++) {
      if (threadIdx.x + i * kGemvWarps * 32 >= chunks) break;
      const __nv_bfloat16* v = reinterpret_cast<const __nv_bfloat16*>(&raw[t][i]);
#pragma unroll
      for (int e = 0; e < 8; e++) ss += __bfloat162float(v[e]) * __bfloat162float(v[e]);
    }
    const float inv = rsqrtf(blockSum(ss, scratch) / float(K) + eps);
#pragma unroll
    for (int i = 0; i < kNormChunks; i++) {
      const int c = threadIdx.x + i * kGemvWarps * 32;
      if (c >= chunks) break;
      const __nv_bfloat16* v = reinterpret_cast<const __nv_bfloat16*>(&raw[t][i]);
      const __nv_bfloat16* g = reinterpret_cast<const __nv_bfloat16*>(&weight[i]);
      uint4 packed;
      __nv_bfloat16* o = reinterpret_cast<__nv_bfloat16*>(&packed);
#pragma unroll
      for (int e = 0; e < 8; e++) o[e] = __float2bfloat16_rn(__bfloat162float(v[e]) * inv * __bfloat162float(g[e]));
      reinterpret_cast<uint4*>(normed + size_t(t) * K)[c] = packed;
    }
  }
  __syncthreads();
}

// A block of kGemvWarps warps serves kGemvWarps / SPLIT weight rows; the SPLIT warps of a row each stream one
// contiguous part of it and their sums meet in shared memory. Splitting gives short rows enough warps in flight
// (a product with few output rows, or long rows: K = 11008) to cover the memory latency.
// GATED: N counts outputs, w holds 2N rows (gate rows, then up rows); a block's first half of rows are gate rows of
// its outputs, the second half the up rows of the same outputs. NORM and RESIDUAL: the edges above.
template <int T, int SPLIT, bool GATED, bool NORM, bool RESIDUAL>
__global__ void __launch_bounds__(kGemvWarps * 32, kGemvBlocksPerSM) gemvKernel(__nv_bfloat16* out, const __nv_bfloat16* x,
    const __nv_bfloat16* w, const __nv_bfloat16* bias, int K, int N, const __nv_bfloat16* normWeight, float eps) {
  constexpr int kRowsPerBlock = kGemvWarps / SPLIT;
  constexpr int kOutsPerBlock = GATED ? kRowsPerBlock / 2 : kRowsPerBlock;
  static_assert(!GATED || kRowsPerBlock % 2 == 0, "a gated block holds the gate and the up row of each output");
  static_assert(!(GATED && RESIDUAL), "a gated product's outputs are not the residual stream's");
  __shared__ float partial[kGemvWarps][T];
  __shared__ __align__(16) __nv_bfloat16 normed[NORM ? T * kNormMaxK : 8];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slot = warp / SPLIT, part = warp % SPLIT;  // the block's row this warp streams, and its part of it
  const int n = blockIdx.x * kOutsPerBlock + slot % kOutsPerBlock;  // the output
  const int wRow = GATED && slot >= kOutsPerBlock ? n + N : n;     // its weight row (gated: the up row in the 2nd half)
  const int chunks = K / 8;
  const int perPart = (chunks + SPLIT - 1) / SPLIT;
  const int cBegin = part * perPart, cEnd = min(chunks, cBegin + perPart);
  float acc[T];
#pragma unroll
  for (int t = 0; t < T; t++) acc[t] = 0.f;
  const uint4* row = reinterpret_cast<const uint4*>(w + size_t(n < N ? wRow : 0) * K);
  // A batch of this warp's weights, all loads issued before the first is used.
  uint4 wv[kBatch];
  auto load = [&](int base) {
#pragma unroll
    for (int b = 0; b < kBatch; b++) {
      const int c = base + b * 32;
      wv[b] = n < N && c < cEnd ? __ldcs(row + c) : make_uint4(0, 0, 0, 0);
    }
  };
  // Launched as a programmatic dependent of the kernel before it (dependent_launch.cuh): the first batch of weights
  // is on its way while that kernel finishes (the weights are parameters, never written by a kernel of the step),
  // then the wait makes the previous kernel's output (x) complete and visible.
  int base = cBegin + lane;
  load(base);
  // The norm's weights are parameters too: read before the wait.
  uint4 normWeights[kNormChunks];
  if constexpr (NORM) {
#pragma unroll
    for (int i = 0; i < kNormChunks; i++) {
      const int c = threadIdx.x + i * kGemvWarps * 32;
      normWeights[i] = c < chunks ? __ldg(reinterpret_cast<const uint4*>(normWeight) + c) : make_uint4(0, 0, 0, 0);
    }
  }
  waitForPrevious();
  releaseNext();
  if constexpr (NORM) normalizeRows<T>(normed, x, normWeights, K, eps);
  // RESIDUAL: the stream's values this lane adds to, read now so the read overlaps the weights' stream.
  float residual[T];
  if constexpr (RESIDUAL) {
#pragma unroll
    for (int t = 0; t < T; t++) residual[t] = part == 0 && lane == 0 && n < N ? __bfloat162float(out[size_t(t) * N + n]) : 0.f;
  }
  // Chunk c of x's row t: the normalized rows in shared memory, or x itself (L1/L2, read by every warp).
  auto xChunk = [&](int t, int c) {
    if constexpr (NORM) return reinterpret_cast<const uint4*>(normed)[size_t(t) * chunks + c];
    else return __ldg(reinterpret_cast<const uint4*>(x) + size_t(t) * chunks + c);
  };
  if (n < N) {
    for (;;) {
#pragma unroll
      for (int b = 0; b < kBatch; b++) {
        const int c = base + b * 32;
        if (c >= cEnd) break;
#pragma unroll
        for (int t = 0; t < T; t++) {
          accumulate8(acc[t], wv[b], xChunk(t, c));
        }
      }
      base += 32 * kBatch;
      if (base >= cEnd) break;
      load(base);
    }
  }
#pragma unroll
  for (int t = 0; t < T; t++) acc[t] = warpSum(acc[t]);
  // The whole sum of token t over the row whose first warp is `first` (its SPLIT parts, from shared memory).
  auto rowSum = [&](int first, int t) {
    float sum = 0.f;
#pragma unroll
    for (int p = 0; p < SPLIT; p++) sum += partial[first + p][t];
    return sum;
  };
  if (SPLIT > 1 || GATED) {
    if (lane == 0) {
#pragma unroll
      for (int t = 0; t < T; t++) partial[warp][t] = acc[t];
    }
    __syncthreads();
    if (part != 0) return;
#pragma unroll
    for (int t = 0; t < T; t++) acc[t] = rowSum(warp, t);
  }
  if (n >= N || lane != 0) return;
  if constexpr (GATED) {
    if (slot >= kOutsPerBlock) return;  // the up rows' sums are read by their gate row's warp
    const int upWarp = warp + kOutsPerBlock * SPLIT;
#pragma unroll
    for (int t = 0; t < T; t++) {
      // Gate and up as the product would store them for the siluAndMul kernel to read.
      const float g = __bfloat162float(storedSum(acc[t], bias, n));
      const float u = __bfloat162float(storedSum(rowSum(upWarp, t), bias, n + N));
      out[size_t(t) * N + n] = __float2bfloat16_rn(siluTimes(g, u));
    }
  } else {
#pragma unroll
    for (int t = 0; t < T; t++) {
      __nv_bfloat16* o = out + size_t(t) * N + n;
      const __nv_bfloat16 product = storedSum(acc[t], bias, n);
      // RESIDUAL: this lane alone reads and writes this output of the stream.
      if constexpr (RESIDUAL) *o = __float2bfloat16_rn(residual[t] + __bfloat162float(product));
      else *o = product;
    }
  }
}

// One product's operands (normWeight and eps: the NORM edge's).
struct GemvCall {
  void* out;
  const void* x;
  const void* w;
  const void* bias;
  int K, N;
  const void* normWeight;
  float eps;
};

template <int T, int SPLIT, bool GATED, bool NORM, bool RESIDUAL>
std::string launchGemv(const GemvCall& c) {
  constexpr int outsPerBlock = GATED ? kGemvWarps / SPLIT / 2 : kGemvWarps / SPLIT;
  return launchDependent("cudaLaunchKernelEx (gemv)", gemvKernel<T, SPLIT, GATED, NORM, RESIDUAL>,
    dim3{unsigned((c.N + outsPerBlock - 1) / outsPerBlock)}, dim3{kGemvWarps * 32}, 0, static_cast<__nv_bfloat16*>(c.out),
    static_cast<const __nv_bfloat16*>(c.x), static_cast<const __nv_bfloat16*>(c.w), static_cast<const __nv_bfloat16*>(c.bias),
    c.K, c.N, static_cast<const __nv_bfloat16*>(c.normWeight), c.eps);
}

// > 0: every row split over this many warps (1, 2, 4 or 8), for measuring (setGemvSplit).
int forcedSplit = 0;

// Blocks of gemvKernel<T, SPLIT> resident at once on the whole machine (asked once a variant).
template <int T, int SPLIT>
long long residentBlocks() {
  static long long blocks = 0;
  if (blocks == 0) {
    int perSM = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, gemvKernel<T, SPLIT, false, false, false>, kGemvWarps * 32, 0) != cudaSuccess || perSM < 1) {
      cudaGetLastError();
      return 1LL << 40;  // unknown: no wave limit (asked again next time)
    }
    blocks = (long long)perSM * multiprocessorCount();
  }
  return blocks;
}

// Warps a row is split over: two where each part still gets at least two 16-byte chunks a lane (K >= 1024), else
// one; and one where two would take the product past one wave of resident blocks that one row a warp fits in.
// Measured on the H200 at batch 1 (bench/decode-layers-cuda.ts, µs a call for splits 1 / 2 / 4 / 8): q|k|v
// [2560 x 2048] 4.9 / 5.35 / 5.89 / 7.27, o [2048 x 2048] 4.0 / 3.48 / 4.08 / 5.32, gate|up [22016 x 2048] 26.71 /
// 24.48 / 31.76 / 46.65, down [2048 x 11008] 16.55 / 13.74 / 15.93 / 15.6. More warps a row (the former rule aimed at
// 64 warps a multiprocessor: 4 or 8 for the short products) only multiply blocks that each stream a few chunks.
// q|k|v lost with two because its 640 blocks of four rows are 1.21 waves (58 registers: 4 blocks a multiprocessor,
// Nsight Compute at 386eafc), a tail wave of 112 blocks after the rest; its 320 blocks of eight rows are one wave.
// Long rows (down, K = 11008) take eight: with the first weights loaded before the wait on the kernel ahead
// (8fdafe5), down measured 13.42 / 12.61 µs with two / eight (7927535; 13.74 / 15.6 before that change).
constexpr size_t kLongRow = 8192;
// Few rows (Llama 4's router: 16 x 5,120) take eight too: with two, its 4 blocks' warps streamed 10 chunks a lane in
// two batches (2.77 µs a call at 95141ac, 164 KB); with eight, 16 blocks whose lanes load their 2 or 3 chunks before the wait.
constexpr size_t kFewRows = 64;

template <int T>
int splitFor(size_t K, size_t N) {
  if (forcedSplit > 0) return forcedSplit;
  if (K < 1024) return 1;
  if (K >= kLongRow || N <= kFewRows) return 8;
  const long long blocksAtTwo = (long long)(N + kGemvWarps / 2 - 1) / (kGemvWarps / 2);
  const long long blocksAtOne = (long long)(N + kGemvWarps - 1) / kGemvWarps;
  return blocksAtTwo > residentBlocks<T, 2>() && blocksAtOne <= residentBlocks<T, 1>() ? 1 : 2;
}

// The product with the warps a row splitFor gives. The gated one splits its rows as the plain one would split the 2I
// rows of gate|up (same blocks, same waves), at most four warps a row (a block must hold a gate and an up row).
template <int T, bool GATED, bool NORM, bool RESIDUAL>
std::string launchSplit(const GemvCall& c) {
  const int split = splitFor<T>(size_t(c.K), GATED ? 2 * size_t(c.N) : size_t(c.N));
  if (split == 1) return launchGemv<T, 1, GATED, NORM, RESIDUAL>(c);
  if (split == 2) return launchGemv<T, 2, GATED, NORM, RESIDUAL>(c);
  if constexpr (GATED) {
    return launchGemv<T, 4, GATED, NORM, RESIDUAL>(c);
  } else {
    if (split == 4) return launchGemv<T, 4, GATED, NORM, RESIDUAL>(c);
    return launchGemv<T, 8, GATED, NORM, RESIDUAL>(c);
  }
}

// One or two rows (cuBLASLt wins from 8 on; each row count compiled costs build time).
template <bool GATED, bool NORM, bool RESIDUAL>
std::string launchRows(const char* what, size_t T, const GemvCall& c) {
  if (T > 2) return std::string(what) + ": at most 2 rows, got " + std::to_string(T);
  const std::string status = T == 1 ? launchSplit<1, GATED, NORM, RESIDUAL>(c) : launchSplit<2, GATED, NORM, RESIDUAL>(c);
  return status.empty() ? launchStatus(what) : status;
}

}  // namespace

// ==== launchers ====

void setGemvSplit(int split) {
  forcedSplit = split == 1 || split == 2 || split == 4 || split == 8 ? split : 0;
}


bool gemvApplies(int dtype, const void* out, const void* x, const void* w, size_t T, size_t K) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(w);
  (void)out;
  // Measured on an H200 (bench/results/cuda-kernels.md): one warp per row was ahead of cuBLASLt at T = 1 for
  // K <= 4096 (qkv, gate|up, the lm head) and behind it for K = 11008 (too few warps streaming too long a row),
  // which rows split over several warps address; at T = 8 x is re-read per row and cuBLASLt wins.
  return dtype == kBF16 && T >= 1 && T <= 2 && K % 8 == 0 && K > 0 && bits % 16 == 0;
}

std::string gemv(void* out, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t N) {
  return launchRows<false, false, false>("linear (gemv)", T, {out, x, w, bias, int(K), int(N), nullptr, 0.f});
}

std::string gemvSiluAndMul(void* out, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t I) {
  return launchRows<true, false, false>("linearSiluAndMul (gemv)", T, {out, x, w, bias, int(K), int(I), nullptr, 0.f});
}

std::string gemvNorm(void* out, const void* x, const void* normWeight, float eps, const void* w, const void* bias, size_t T,
                     size_t K, size_t N, bool gated) {
  if (K > size_t(kNormMaxK)) return "rmsNormLinear (gemv): rows of " + std::to_string(K) + " exceed " + std::to_string(kNormMaxK);
  const GemvCall c{out, x, w, bias, int(K), int(N), normWeight, eps};
  return gated ? launchRows<true, true, false>("rmsNormLinear (gemv)", T, c) : launchRows<false, true, false>("rmsNormLinear (gemv)", T, c);
}

std::string gemvAddResidual(void* residual, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t N) {
  return launchRows<false, false, true>("linearAddResidual (gemv)", T, {residual, x, w, bias, int(K), int(N), nullptr, 0.f});
}

}  // namespace iris
