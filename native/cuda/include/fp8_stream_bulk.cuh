// The quantizing FP8 product's weight streaming by bulk copies (BulkRows, a policy of fp8_quantizing.cuh's kernel
// beside fp8_stream_mma.cuh's MmaRows and fp8_stream.cuh's WarpPerRow): one block a 16-row tile, which its warps copy
// into shared memory whole (bulk_copy.cuh, sm_90) and multiply on the tensor cores as MmaRows does, the same K slices
// in the same order, so the same bits.
//
// Why. MmaRows streams from global memory into registers, two 64-byte steps a lane in flight (64 KB a multiprocessor
// at four blocks), so a pass of 10 steps a warp (K = 5,120) is five round trips to memory one after the other. Its
// time goes by passes, not bytes (bench/fp8-tiles-cuda.ts on the H200, K = 5,120, µs against 16-row tiles a
// multiprocessor): 8.3 at 2, 12.3 to 13.6 from 2.4 to 4 (one pass), 21.3 to 22.9 from 5 to 8 (two), where bf16's gemv
// grows with its bytes at 4.0-4.3 TB/s. Scout's q|k|v (3.4 tiles a multiprocessor) and o (2.4) sit on the first step
// at 2.9 and 2.1 TB/s. A per-lane ring of cp.async copies (ahead of its use by 4 to 16 steps) measured slower still
// (q|k|v 17.3 µs, the experts 67; session 13). Here a warp's whole slice of its 16 rows (16 copies of K / 8 bytes)
// is in flight at once, started before the wait and while the block quantizes x: a tile costs one round trip, and
// two resident blocks a multiprocessor (~90 KB each at K = 5,120) keep ~160 KB in flight. One block a tile also lets
// the block scheduler balance the tiles over the multiprocessors as they finish.
//
// Measured (session 13, H200): slower where it matters, so off by the rule (fp8_gemv.cu kBulkRowsByRule). It wins
// below ~2.4 tiles a multiprocessor (1 tile: 5.16 µs against MmaRows's 6.18) and loses past 3 (Scout's q|k|v 15.56
// against 13.83, the routed experts 62.2 against 51.0; 8 tiles 31.9 against 23.8). Two blocks fit a multiprocessor and
// a block's copies start only when a block before it has left: past two tiles a multiprocessor, each pair of tiles pays
// a whole round trip and a block's launch again, which MmaRows's resident blocks (their next pass's first weights sent
// to L2 while they stream) do not. What would serve: resident blocks each holding two tile buffers, the next tile's
// copies started while the current one is multiplied, the tiles split along K so that every multiprocessor streams
// the same bytes (Scout's q|k|v is 3.39 tiles a multiprocessor: the ones with 4 set the time).
//
// Layout. Warp w's region holds its slice of K (MmaRows::slice: steps [first, end) of 64 bytes) for the tile's 16 rows,
// a row every rowStride bytes: the slice rounded up to 64 past a multiple of 128, so rows g and g + 1 (lanes 0-3 and
// 4-7 of a 16-byte load's phase) fall 16 banks apart. Rows past N are not copied; they feed only sums never stored.
#pragma once

#include "bulk_copy.cuh"
#include "fp8_stream_mma.cuh"

namespace iris {
namespace fp8stream {

template <int MT, typename OutT>
struct BulkRows {
  static constexpr const char* kName = "fp8 product (a 16-row tile a block by bulk copy, tensor cores, x quantized in the block)";
  using Out = OutT;
  static constexpr bool kTensorCores = true;
  using Slices = MmaRows<MT, kBatch, OutT>;  // the K slices and the sum over warps, shared: the same bits
  static constexpr int kMaxRows = MT;
  static constexpr int kRows = 16;
  static constexpr int kWarpsPerRow = kWarps;
  static constexpr int kMinBlocks = 2;
  static constexpr int kMinBlocksAlone = kMinBlocks;
  static constexpr bool kTileABlock = true;

  // Bytes between a warp's rows in shared memory (see Layout).
  IRIS_HD static constexpr size_t rowStride(size_t K) {
    const size_t steps = (K / 16 + 3) / 4, per = (steps + kWarps - 1) / kWarps;
    return per * 64 + (per % 2 == 0 ? 64 : 0);
  }
  // Dynamic shared memory before the block's x rows: the warps' regions.
  IRIS_HD static constexpr size_t sharedBefore(size_t K) { return size_t(kWarps) * 16 * rowStride(K); }

  __device__ __forceinline__ static uint64_t* warpBarrier() {
    __shared__ uint64_t barriers[kWarps];
    return &barriers[threadIdx.x / 32];
  }
  __device__ __forceinline__ static uint8_t* warpRow(size_t K, int row) {
    return quantizedX + (size_t(threadIdx.x / 32) * 16 + size_t(row)) * rowStride(K);
  }

  // Starts the copies of this warp's slice of tile blockIdx.x's rows of expert e (lanes 0-15, a row each): called
  // once, before stream (often before the wait: weights only).
  __device__ __forceinline__ static void prefetchFirst(const Fp8RowsArgs& g, int e, int chunks) {
    const int lane = int(threadIdx.x) % 32, r0 = int(blockIdx.x) * kRows;
    int first, end;
    Slices::slice(g.K, &first, &end);
    // The slice's bytes (none for a warp without one; the last step of a row may be partial) of the tile's rows below N
    // (the grid has a block a tile: r0 < N).
    const int begin = 64 * first, bytes = end > first ? min(64 * end, 16 * chunks) - begin : 0;
    const int rows = min(kRows, int(g.N) - r0);
    uint64_t* barrier = warpBarrier();
    if (lane == 0) {
      bulk::barrierInit(barrier, 1);
      bulk::arriveExpectingBytes(barrier, unsigned(rows * bytes));
    }
    __syncwarp();
    if (lane < rows && bytes > 0) {
      bulk::copyToShared(warpRow(g.K, lane), reinterpret_cast<const uint8_t*>(rowChunks(g, e, r0 + lane)) + begin,
                         unsigned(bytes), barrier);
    }
  }

  // out rows start .. start + rows - 1 (the block's x rows, FP8 in shared memory, scales xScale) for the tile's 16
  // columns of expert e's weights: MmaRows's steps, from the copies in shared memory.
  __device__ __forceinline__ static void stream(const Fp8RowsArgs& g, int e, int start, int rows, const uint8_t* xq,
                                                const float* xScale) {
    const int lane = int(threadIdx.x) % 32, gr = lane / 4, t = lane % 4, chunks = int(g.K) / 16, r0 = int(blockIdx.x) * kRows;
    int first, end;
    Slices::slice(g.K, &first, &end);
    const uint8_t* lo = warpRow(g.K, gr) + 16 * t;
    const uint8_t* hi = warpRow(g.K, gr + 8) + 16 * t;
    const uint4* x = reinterpret_cast<const uint4*>(xq) + (gr < rows ? gr : 0) * chunks;
    bulk::waitPhase(warpBarrier(), 0);
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll 2
    for (int s = first; s < end; s++) {
      // Past the row (its last step when K is not a multiple of 64): zeros, as MmaRows's loads give.
      const int c = 4 * s + t;
      const bool in = c < chunks;
      const size_t at = size_t(64) * size_t(s - first);
      const uint4 wl = in ? *reinterpret_cast<const uint4*>(lo + at) : make_uint4(0, 0, 0, 0);
      const uint4 wh = in ? *reinterpret_cast<const uint4*>(hi + at) : make_uint4(0, 0, 0, 0);
      const uint4 xv = in ? x[c] : make_uint4(0, 0, 0, 0);
      mmaStep(acc, wl, wh, xv);
    }
    float sum;
    if (Slices::sumWarps(acc, rows, r0, int(g.N), 0, &sum)) {
      const int column = int(threadIdx.x) / 16;
      fp8Epilogue<OutT>(g, start + column, e, r0 + int(threadIdx.x) % 16, sum, xScale[column]);
    }
  }
};

// The most dynamic shared memory a BulkRows launch takes (its tile and x): two blocks a multiprocessor.
constexpr size_t kBulkMaxShared = 112 * 1024;

// Whether the quantizing products may stream by bulk copies: setFp8BulkRows's choice or its rule (fp8_gemv.cu).
bool productByBulkCopy();

// Whether Stream (a BulkRows) takes a product of K-byte rows against T x rows: chosen, sm_90, and within kBulkMaxShared.
template <typename Stream>
bool bulkRowsServe(size_t K, size_t T) {
  return productByBulkCopy() && computeCapability() >= 90 && Stream::sharedBefore(K) + T * K <= kBulkMaxShared;
}

// Lets kKernel (a quantizing kernel streaming as BulkRows) take kBulkMaxShared of dynamic shared memory: once a kernel.
template <typename Stream, auto kKernel>
std::string allowBulkShared() {
  static const std::string status = allowSharedBytes(reinterpret_cast<const void*>(kKernel), kBulkMaxShared, Stream::kName);
  return status;
}

// BulkRows's grid along N: one block a 16-row tile.
inline unsigned tilesOf(size_t N) { return unsigned((N + 15) / 16); }

}  // namespace fp8stream
}  // namespace iris
