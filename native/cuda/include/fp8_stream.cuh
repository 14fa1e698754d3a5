// The weight-streaming FP8 product's pieces that fp8_gemv.cu (plain and grouped products) and fp8_moe.cu (the experts
// at decode) share: the launch shape, a block's expert, the per-lane sums over 16-byte chunks, and the variant that
// quantizes its float input per row into shared memory first (quantizingRowsKernel), exactly as quantizeFp8 does
// (fp8_quantize.cu: amax over the row, scale = fp8ScaleFor(amax), bytes = e4m3(value / scale)), so a decode step's
// product needs no quantizing kernel before it. What a row's values are is the caller's Prologue: a plain float row,
// or an expert's input as the MoE makes it. A block re-reads those few KB from L2, about a microsecond, which the
// prefetch of its first weights overlaps.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "float_io.cuh"
#include "fp8.cuh"
#include "iris_cuda.h"

namespace iris {
namespace fp8stream {

constexpr int kWarps = 8;
constexpr int kBatch = 4;  // 16-byte weight loads in flight per lane (one row a pass: see streamBatch)
constexpr size_t kQuantizingMaxRows = 4;  // decode's few tokens; more quantize first (each MT variant costs build time)
constexpr size_t kQuantizingMaxBytes = 32 * 1024;  // FP8 x in shared memory: within the 48 KB of a plain launch

// The expert of block y and its rows [start, start + count); false when fewer experts have rows.
__device__ __forceinline__ bool blockExpert(const Fp8RowsArgs& g, int* expert, int* start, int* count) {
  if (g.offsets == nullptr) {
    *expert = 0;
    *start = 0;
    *count = int(g.T);
    return blockIdx.y == 0;
  }
  int z = blockIdx.y;
  for (int e = 0; e < int(g.E); e++) {
    const int s = g.offsets[e], n = g.offsets[e + 1] - s;
    if (n > 0 && z-- == 0) {
      *expert = e;
      *start = s;
      *count = n;
      return true;
    }
  }
  return false;
}

// out[rowMap[p] or p, n] = acc * xScale * wScale[e, n] + bias[n].
template <typename OutT>
__device__ __forceinline__ void store(const Fp8RowsArgs& g, int p, int e, int n, float acc, float xScale) {
  float v = acc * xScale * g.wScale[size_t(e) * g.N + n];
  if (g.bias != nullptr) v += toFloat(static_cast<const OutT*>(g.bias)[n]);
  const size_t row = g.rowMap != nullptr ? size_t(g.rowMap[p]) : size_t(p);
  static_cast<OutT*>(g.out)[row * g.N + n] = fromFloat<OutT>(v);
}

// Loads in flight per lane for a kernel of MT rows a pass: kBatch, or at MT = 1 with a bf16 output (a decode step
// of one token) what setFp8StreamBatch forces (4, 8 or 16: K = 5120 is 10 chunks a lane, K = 8192 16), for
// measuring; only those variants are compiled (each costs build time). Calls launch(std::integral_constant<int, BATCH>{}).
int forcedFp8StreamBatch();  // fp8_gemv.cu; 0: not forced
template <int MT, typename OutT, typename Launch>
std::string withStreamBatch(Launch launch) {
  if constexpr (MT == 1 && std::is_same_v<OutT, __nv_bfloat16>) {
    switch (forcedFp8StreamBatch()) {
      case 8: return launch(std::integral_constant<int, 8>{});
      case 16: return launch(std::integral_constant<int, 16>{});
      default: break;
    }
  }
  return launch(std::integral_constant<int, kBatch>{});
}

// acc[t] += Σ over this lane's 16-byte chunks of w · x row t, for t < rows; xChunk(t, c) gives chunk c of x row t.
// A batch of BATCH weight loads is in flight before the first is used.
template <int MT, int BATCH, typename XChunk>
__device__ __forceinline__ void dotChunks(const uint4* w4, int chunks, int lane, int rows, bool streaming, XChunk xChunk,
                                          float (&acc)[MT]) {
  for (int base = lane; base < chunks; base += 32 * BATCH) {
    uint4 wv[BATCH];
#pragma unroll
    for (int b = 0; b < BATCH; b++) {
      const int c = base + b * 32;
      // Streaming loads at decode (the weights are read once); with more rows than one pass, keep them cached.
      wv[b] = c < chunks ? (streaming ? __ldcs(w4 + c) : __ldg(w4 + c)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int b = 0; b < BATCH; b++) {
      const int c = base + b * 32;
      if (c >= chunks) break;
      float wf[16];
      e4m3x16ToFloat(wv[b], wf);
#pragma unroll
      for (int t = 0; t < MT; t++) {
        if (t >= rows) break;
        float xf[16];
        e4m3x16ToFloat(xChunk(t, c), xf);
#pragma unroll
        for (int j = 0; j < 16; j++) acc[t] = fmaf(wf[j], xf[j], acc[t]);
      }
    }
  }
}

// Rows of one expert (or of a plain product), at most MT, K a multiple of 16, whose float values come from
// `value(p, k)` (row p of the call, column k; rounded to the storage type where the model rounds): each block quantizes
// them into shared memory (dynamic: T * K bytes), then streams its weight rows against them. Grid as the FP8
// product's: (ceil(N / kWarps), experts with rows at most).
template <int MT, int BATCH, typename OutT, typename Prologue>
__global__ void __launch_bounds__(kWarps * 32) quantizingRowsKernel(Fp8RowsArgs g, Prologue value) {
  extern __shared__ __align__(16) uint8_t xq[];
  __shared__ float shared32[32];
  __shared__ float xScale[MT];
  int e = 0, start = 0, rows = 0;
  if (!blockExpert(g, &e, &start, &rows)) return;  // the whole block alike: no barrier below is skipped by some threads
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kWarps + warp;
  const int K = int(g.K), chunks = K / 16;
  const uint4* w4 = reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(g.w) +
                                                   (size_t(e) * g.N + size_t(n < int(g.N) ? n : 0)) * K);
  // This warp's first weights start on their way to L2 while the block quantizes x.
  if (n < int(g.N)) {
#pragma unroll
    for (int b = 0; b < BATCH; b++) {
      const int c = lane + b * 32;
      if (c < chunks) asm volatile("prefetch.global.L2 [%0];" ::"l"(w4 + c));
    }
  }
  for (int t = 0; t < rows; t++) {
    float amax = 0.f;
    for (int k = threadIdx.x; k < K; k += blockDim.x) amax = fmaxf(amax, fabsf(value(start + t, k)));
    const float scale = fp8ScaleFor(blockAbsMax(amax, shared32));
    if (threadIdx.x == 0) xScale[t] = scale;
    for (int k = threadIdx.x; k < K; k += blockDim.x) xq[size_t(t) * K + k] = toE4m3(value(start + t, k) / scale);
  }
  __syncthreads();
  if (n >= int(g.N)) return;
  float acc[MT];
#pragma unroll
  for (int t = 0; t < MT; t++) acc[t] = 0.f;
  const uint4* xq4 = reinterpret_cast<const uint4*>(xq);
  dotChunks<MT, BATCH>(w4, chunks, lane, rows, true, [&](int t, int c) { return xq4[t * chunks + c]; }, acc);
#pragma unroll
  for (int t = 0; t < MT; t++) {
    if (t >= rows) break;
    const float sum = warpSum(acc[t]);
    if (lane == 0) store<OutT>(g, start + t, e, n, sum, xScale[t]);
  }
}

// Why quantizingRowsKernel cannot serve `g` ("" when it can): at most 4 rows in all (so at most 4 an expert), K in
// 16-byte chunks, the FP8 rows within shared memory, 16-byte aligned weights.
inline std::string quantizingRowsRefusal(const Fp8RowsArgs& g) {
  if (g.T > kQuantizingMaxRows || g.T * g.K > kQuantizingMaxBytes || g.K % 16 != 0 ||
      reinterpret_cast<uintptr_t>(g.w) % 16 != 0) {
    return "fp8 product: quantizing inside needs at most 4 rows, K a multiple of 16 and at most " +
           std::to_string(kQuantizingMaxBytes) + " bytes of FP8 x";
  }
  return "";
}

template <int MT, typename OutT, typename Prologue>
std::string launchQuantizing(const Fp8RowsArgs& g, Prologue value) {
  const size_t groups = g.offsets == nullptr ? 1 : (g.T < g.E ? g.T : g.E);  // at most this many experts have rows
  const dim3 grid(unsigned((g.N + kWarps - 1) / kWarps), unsigned(groups));
  return withStreamBatch<MT, OutT>([&](auto batch) {
    quantizingRowsKernel<MT, decltype(batch)::value, OutT, Prologue><<<grid, kWarps * 32, g.T * g.K, stream()>>>(g, value);
    return launchStatus("fp8 product (weight streaming, x quantized in the block)");
  });
}

// The product of `g` (xScale unused) on rows whose float values `value` gives, quantized inside; "" or why not.
// bf16 (the models on cuda) and F32 (the tests against the cpu) only: every variant costs build time.
template <typename OutT, typename Prologue>
std::string quantizingRows(const Fp8RowsArgs& g, Prologue value) {
  static_assert(std::is_same_v<OutT, __nv_bfloat16> || std::is_same_v<OutT, float>, "bf16 or F32");
  if (g.T == 0 || g.N == 0) return "";
  const std::string refusal = quantizingRowsRefusal(g);
  if (!refusal.empty()) return refusal;
  if (g.T <= 1) return launchQuantizing<1, OutT>(g, value);
  if (g.T <= 2) return launchQuantizing<2, OutT>(g, value);
  return launchQuantizing<4, OutT>(g, value);
}

}  // namespace fp8stream
}  // namespace iris
