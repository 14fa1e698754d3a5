// The weight-streaming FP8 product's pieces that fp8_gemv.cu (plain and grouped products) and fp8_quantizing.cuh
// (the products that quantize their float input in the block, fp8_gemv.cu's and fp8_moe.cu's at decode) share: the
// launch shape, a block's expert, the per-lane sums over 16-byte chunks (their epilogue is fp8_epilogue.cuh's), the
// prologue that quantizes a row of x into shared memory exactly as quantizeFp8 does (fp8_quantize.cu: amax over the
// row, scale = fp8ScaleFor(amax), bytes = e4m3(value / scale)), and WarpPerRow, the quantizing kernel's weight
// streaming on the CUDA cores (one warp a weight row; fp8_stream_mma.cuh's MmaRows is the same on the tensor cores).
// What a row's values are is the caller's Prologue: a plain float row (FloatRows), or an expert's input as the MoE
// makes it.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dependent_launch.cuh"
#include "float_io.cuh"
#include "fp8.cuh"
#include "fp8_epilogue.cuh"
#include "fp8_timeline.cuh"
#include "iris_cuda.h"

namespace iris {
namespace fp8stream {

constexpr int kWarps = 8;
constexpr int kBatch = 4;  // 16-byte weight loads in flight per lane (one row a pass: see streamBatch)
constexpr size_t kQuantizingMaxRows = 4;  // decode's few tokens; more quantize first (each MT variant costs build time)
constexpr size_t kQuantizingMaxBytes = 32 * 1024;  // FP8 x in shared memory: within the 48 KB of a plain launch

// The quantizing kernels' dynamic shared memory: the weight streaming's own (Stream::sharedBefore(K): BulkRows's tile),
// then the block's x rows as FP8 (T * K bytes). NOTE: declared here, not in the kernels: the cpu emulation
// (tests/cuda/fp8-stream-emulation.cc) makes __shared__ thread_local, and g++ miscompiles a block-scope extern
// thread_local array.
extern __shared__ __align__(16) uint8_t quantizedX[];

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

// ==== the quantizing prologue: x into shared memory as FP8 ====

// The 16-byte chunks of a float row as its storage type holds them (8 bf16 or 4 F32 values): loaded whole where the
// row is 16-byte aligned, else value by value; unpacked to fp32 exactly; packed back rounding as fromFloat<T>.
template <typename T>
struct ChunkIO;

template <>
struct ChunkIO<__nv_bfloat16> {
  static constexpr int kValues = 8;
  __device__ static __forceinline__ uint4 load(const __nv_bfloat16* row, int c, bool aligned) {
    if (aligned) return __ldg(reinterpret_cast<const uint4*>(row) + c);
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
      w[i] = uint32_t(__bfloat16_as_ushort(row[8 * c + 2 * i])) | uint32_t(__bfloat16_as_ushort(row[8 * c + 2 * i + 1])) << 16;
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
  }
  __device__ static __forceinline__ void unpack(const uint4& u, float (&v)[8]) {
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      v[2 * i] = __uint_as_float(w[i] << 16);
      v[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
  }
  __device__ static __forceinline__ uint4 pack(const float (&v)[8]) {
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
      w[i] = uint32_t(__bfloat16_as_ushort(fromFloat<__nv_bfloat16>(v[2 * i]))) |
             uint32_t(__bfloat16_as_ushort(fromFloat<__nv_bfloat16>(v[2 * i + 1]))) << 16;
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
  }
};

template <>
struct ChunkIO<float> {
  static constexpr int kValues = 4;
  __device__ static __forceinline__ uint4 load(const float* row, int c, bool aligned) {
    if (aligned) return __ldg(reinterpret_cast<const uint4*>(row) + c);
    return make_uint4(__float_as_uint(row[4 * c]), __float_as_uint(row[4 * c + 1]), __float_as_uint(row[4 * c + 2]),
                      __float_as_uint(row[4 * c + 3]));
  }
  __device__ static __forceinline__ void unpack(const uint4& u, float (&v)[4]) {
    v[0] = __uint_as_float(u.x);
    v[1] = __uint_as_float(u.y);
    v[2] = __uint_as_float(u.z);
    v[3] = __uint_as_float(u.w);
  }
  __device__ static __forceinline__ uint4 pack(const float (&v)[4]) {
    return make_uint4(__float_as_uint(v[0]), __float_as_uint(v[1]), __float_as_uint(v[2]), __float_as_uint(v[3]));
  }
};

// A float x's rows of K values, chunk by chunk (the Prologue of a plain product): 16-byte loads where x is aligned.
template <typename T>
struct FloatRows {
  using Storage = T;
  const T* x;
  size_t K;
  bool aligned;
  __device__ __forceinline__ uint4 chunk(int p, int c) const { return ChunkIO<T>::load(x + size_t(p) * K, c, aligned); }
};

// Chunks of x a prologue thread keeps in registers between the amax and the bytes: 4 x 256 threads x 8 values is a
// bf16 row of 8,192 (Scout's widest); longer rows (or F32 past 4,096) compute their remaining chunks again.
constexpr int kHeldChunks = 4;

// The expert of block y as blockExpert finds it, the 32 lanes of each warp reading 32 experts' offsets at once (one
// round trip where blockExpert's loop makes one per expert); every thread of the block gets the same answer.
__device__ __forceinline__ bool blockExpertByWarp(const Fp8RowsArgs& g, int lane, int* expert, int* start, int* count) {
  if (g.offsets == nullptr) return blockExpert(g, expert, start, count);
  int z = blockIdx.y;
  for (int e0 = 0; e0 < int(g.E); e0 += 32) {
    const int e = e0 + lane;
    const int s = e < int(g.E) ? g.offsets[e] : 0, n = e < int(g.E) ? g.offsets[e + 1] - s : 0;
    const unsigned withRows = __ballot_sync(0xffffffffu, n > 0);
    const int here = __popc(withRows);
    if (z < here) {
      const unsigned pick = __ballot_sync(0xffffffffu, n > 0 && __popc(withRows & ((1u << lane) - 1u)) == z);
      const int l = __ffs(pick) - 1;
      *expert = e0 + l;
      *start = __shfl_sync(0xffffffffu, s, l);
      *count = __shfl_sync(0xffffffffu, n, l);
      return true;
    }
    z -= here;
  }
  return false;
}

// The line holding p on its way to L2: a hint, the load comes later (nothing in the cpu emulation).
__device__ __forceinline__ void prefetchL2(const void* p) {
#ifdef __CUDA_ARCH__
  asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
#endif
}

// Bytes [0, bytes) from p (16-byte aligned, bytes a multiple of 16) on their way to L2: one bulk prefetch on sm_90
// and later (the copy engine walks the lines), a line at a time before (nothing in the cpu emulation).
__device__ __forceinline__ void prefetchBytesL2(const void* p, int bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (bytes > 0) asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p), "r"(bytes) : "memory");
#elif defined(__CUDA_ARCH__)
  for (int b = 0; b < bytes; b += 128) prefetchL2(static_cast<const uint8_t*>(p) + b);
#else
  (void)p, (void)bytes;
#endif
}

// Row n's first weights (the first `batch` chunks of each lane) on their way to L2.
__device__ __forceinline__ void prefetchFirstChunks(const uint4* w4, int chunks, int lane, int batch) {
  for (int b = 0; b < batch; b++) {
    const int c = lane + b * 32;
    if (c < chunks) prefetchL2(w4 + c);
  }
}

// Chunks first + i * blockDim.x (i < kHeldChunks, those below xChunks) of row p into `held`, all loads first (one
// round trip), with their largest magnitude folded into amax.
template <typename Prologue>
__device__ __forceinline__ void loadHeld(const Prologue& value, int p, int first, int xChunks, uint4 (&held)[kHeldChunks],
                                         float& amax) {
  using IO = ChunkIO<typename Prologue::Storage>;
  constexpr int V = IO::kValues;
#pragma unroll
  for (int i = 0; i < kHeldChunks; i++) {
    const int c = first + i * int(blockDim.x);
    held[i] = c < xChunks ? value.chunk(p, c) : make_uint4(0, 0, 0, 0);
  }
#pragma unroll
  for (int i = 0; i < kHeldChunks; i++) {
    float v[V];
    IO::unpack(held[i], v);
#pragma unroll
    for (int j = 0; j < V; j++) amax = fmaxf(amax, fabsf(v[j]));
  }
}

// Quantizes row p of the prologue (the block's threads together) into dst (K bytes) and returns its scale, as
// quantizeFp8 does: amax over the row's values, scale = fp8ScaleFor(amax), bytes e4m3(value / scale). A row of one
// round (kHeldChunks chunks a thread) is read once and quantized from registers; longer rows read each round again
// for the bytes, the last one read first being still held.
// `timeline`: where the products' timeline is on (fp8_timeline.cuh), the row's loads and its reduction are marked.
template <typename Prologue>
__device__ __forceinline__ float quantizeRow(const Prologue& value, int p, int K, uint8_t* dst, float* shared32,
                                             unsigned long long* timeline = nullptr) {
  using IO = ChunkIO<typename Prologue::Storage>;
  constexpr int V = IO::kValues;
  const int xChunks = K / V, perRound = kHeldChunks * int(blockDim.x);
  const int rounds = (xChunks + perRound - 1) / perRound;
  uint4 held[kHeldChunks];
  float amax = 0.f;
  for (int r = 0; r < rounds; r++) loadHeld(value, p, r * perRound + int(threadIdx.x), xChunks, held, amax);
  if (timeline != nullptr) fp8timeline::mark(timeline, fp8timeline::kXLoaded);
  const float scale = fp8ScaleFor(blockAbsMax(amax, shared32));
  if (timeline != nullptr) fp8timeline::mark(timeline, fp8timeline::kReduced);
  for (int r = rounds - 1; r >= 0; r--) {
    const int first = r * perRound + int(threadIdx.x);
    if (r != rounds - 1) {
      float unused = 0.f;
      loadHeld(value, p, first, xChunks, held, unused);
    }
#pragma unroll
    for (int i = 0; i < kHeldChunks; i++) {
      const int c = first + i * int(blockDim.x);
      if (c >= xChunks) break;
      float v[V];
      IO::unpack(held[i], v);
      // The V bytes as one 8- or 4-byte word (c * V is a multiple of V).
      uint32_t word[V / 4];
#pragma unroll
      for (int j = 0; j < V / 4; j++) {
        word[j] = uint32_t(toE4m3(v[4 * j] / scale)) | uint32_t(toE4m3(v[4 * j + 1] / scale)) << 8 |
                  uint32_t(toE4m3(v[4 * j + 2] / scale)) << 16 | uint32_t(toE4m3(v[4 * j + 3] / scale)) << 24;
      }
      if constexpr (V == 8) {
        *reinterpret_cast<uint2*>(dst + size_t(c) * V) = make_uint2(word[0], word[1]);
      } else {
        *reinterpret_cast<uint32_t*>(dst + size_t(c) * V) = word[0];
      }
    }
  }
  return scale;
}

// Row n of expert e's weights as 16-byte chunks.
__device__ __forceinline__ const uint4* rowChunks(const Fp8RowsArgs& g, int e, int n) {
  return reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(g.w) + (size_t(e) * g.N + size_t(n)) * g.K);
}

// ==== weight streaming on the CUDA cores ====

// The quantizing kernel's weight streaming (fp8_quantizing.cuh) on the CUDA cores: one warp a weight row, its lanes
// over the row's 16-byte chunks (dotChunks, BATCH loads in flight a lane) against the block's FP8 x rows, the sums
// across the warp by shuffles. Decoding both operands costs ~48 conversions and 16 FFMA a 16-byte chunk: the H200
// streams Scout's products at 2.0 to 2.8 TB/s of its ~4.2 this way, bound by issue slots (fp8_stream_mma.cuh).
template <int MT, int BATCH, typename OutT>
struct WarpPerRow {
  static constexpr const char* kName = "fp8 product (weight streaming, x quantized in the block)";
  using Out = OutT;
  static constexpr bool kTensorCores = false;
  static constexpr int kMaxRows = MT;
  static constexpr int kRows = kWarps;  // weight rows a block streams a pass: one a warp
  static constexpr int kWarpsPerRow = 1;
  // Blocks a multiprocessor that ptxas must fit at kBatch loads in flight: 5 (48 registers, as many warps as the
  // plain product's one-row variant has) for decode's variant, one bf16 row, which left alone takes 64 for the held
  // chunks (4 blocks); 4 (64 registers) for the others, some of which spill at 48; the forced larger batches as ptxas
  // chooses. None spills (ptxas -v).
  static constexpr int kMinBlocks = BATCH > kBatch ? 1 : MT == 1 && std::is_same_v<OutT, __nv_bfloat16> ? 5 : 4;
  static constexpr int kMinBlocksAlone = kMinBlocks;  // the plain quantizing kernel's bound (fp8_quantizing.cuh)
  static constexpr bool kTileABlock = false;  // a resident wave of blocks, each looping over its passes
  // Dynamic shared memory before the block's x rows: none.
  __host__ __device__ static constexpr size_t sharedBefore(size_t) { return 0; }

  // This warp's first row's first weights (of `chunks` 16-byte chunks a row) on their way to L2: its first
  // g.prefetchBytes by one bulk prefetch where the launcher set them, else the lanes' first batch.
  __device__ __forceinline__ static void prefetchFirst(const Fp8RowsArgs& g, int e, int chunks) {
    const int n = blockIdx.x * kWarps + threadIdx.x / 32;
    if (n >= int(g.N)) return;
    if (g.prefetchBytes > 0) {
      if (threadIdx.x % 32 == 0) prefetchBytesL2(rowChunks(g, e, n), min(g.prefetchBytes, 16 * chunks));
    } else {
      prefetchFirstChunks(rowChunks(g, e, n), chunks, threadIdx.x % 32, BATCH);
    }
  }

  // out rows start .. start + rows - 1 (x's rows xq, FP8 in shared memory, scales xScale), each warp's columns n,
  // n + kRows * gridDim.x, ... of expert e's weights, the next row's first weights on their way to L2 while a row streams.
  __device__ __forceinline__ static void stream(const Fp8RowsArgs& g, int e, int start, int rows, const uint8_t* xq,
                                                const float* xScale) {
    const int lane = int(threadIdx.x) % 32, K = int(g.K), N = int(g.N), chunks = K / 16, stride = int(gridDim.x) * kWarps;
    const uint4* xq4 = reinterpret_cast<const uint4*>(xq);
    for (int n = int(blockIdx.x) * kWarps + int(threadIdx.x) / 32; n < N; n += stride) {
      if (n + stride < N) prefetchFirstChunks(rowChunks(g, e, n + stride), chunks, lane, BATCH);
      float acc[MT];
#pragma unroll
      for (int t = 0; t < MT; t++) acc[t] = 0.f;
      dotChunks<MT, BATCH>(rowChunks(g, e, n), chunks, lane, rows, true, [&](int t, int c) { return xq4[t * chunks + c]; }, acc);
#pragma unroll
      for (int t = 0; t < MT; t++) {
        if (t >= rows) break;
        const float sum = warpSum(acc[t]);
        if (lane == 0) fp8Epilogue<OutT>(g, start + t, e, n, sum, xScale[t]);
      }
    }
  }

  // Two products of the same shape (a's expert eA, b's expert eB, x rows xqA and xqB) whose sums one epilogue takes
  // together, as MmaRows::streamPair: each warp streams row n of a, then row n of b, and lane 0 calls epilogue(p, n,
  // sumA, xScaleA[t], sumB, xScaleB[t]) for each x row t (output row p = start + t).
  template <typename Epilogue>
  __device__ __forceinline__ static void streamPair(const Fp8RowsArgs& a, int eA, const Fp8RowsArgs& b, int eB, int start,
                                                    int rows, const uint8_t* xqA, const float* xScaleA, const uint8_t* xqB,
                                                    const float* xScaleB, Epilogue epilogue) {
    const int lane = int(threadIdx.x) % 32, chunks = int(a.K) / 16, N = int(a.N), stride = int(gridDim.x) * kWarps;
    const uint4* xA = reinterpret_cast<const uint4*>(xqA);
    const uint4* xB = reinterpret_cast<const uint4*>(xqB);
    for (int n = int(blockIdx.x) * kWarps + int(threadIdx.x) / 32; n < N; n += stride) {
      if (n + stride < N) {
        prefetchFirstChunks(rowChunks(a, eA, n + stride), chunks, lane, BATCH);
        prefetchFirstChunks(rowChunks(b, eB, n + stride), chunks, lane, BATCH);
      }
      float accA[MT], accB[MT];
#pragma unroll
      for (int t = 0; t < MT; t++) accA[t] = accB[t] = 0.f;
      dotChunks<MT, BATCH>(rowChunks(a, eA, n), chunks, lane, rows, true, [&](int t, int c) { return xA[t * chunks + c]; }, accA);
      dotChunks<MT, BATCH>(rowChunks(b, eB, n), chunks, lane, rows, true, [&](int t, int c) { return xB[t * chunks + c]; }, accB);
#pragma unroll
      for (int t = 0; t < MT; t++) {
        if (t >= rows) break;
        const float sumA = warpSum(accA[t]), sumB = warpSum(accB[t]);
        if (lane == 0) epilogue(start + t, n, sumA, xScaleA[t], sumB, xScaleB[t]);
      }
    }
  }
};

}  // namespace fp8stream
}  // namespace iris
