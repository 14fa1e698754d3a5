// The FP8 product that quantizes its float input per row into shared memory first (quantizingRowsKernel), exactly
// as quantizeFp8 does, so a decode step's product needs no quantizing kernel before it: fp8_gemv.cu's (linearFp8 with
// a null xScale) and fp8_moe.cu's two expert products. Its weight streaming is a policy: fp8_stream.cuh's WarpPerRow
// (one warp a weight row, CUDA cores) or fp8_stream_mma.cuh's MmaRows (16 rows a block, tensor cores, sm_89 and
// later), chosen by setFp8ProductOnTensorCores (fp8_gemv.cu's productOnTensorCores).
//
// Why the quantizing kernel is shaped as it is (Scout at batch 1 on the H200, 279d044's first version measured: the
// product with x quantized in every block of 8 rows cost 2.3 to 17 µs a call more than quantizeFp8 + the product,
// 220 against 187 µs a layer): each of its 640 to 2,048 blocks read x twice with scalar loads (a serial chain of L2
// round trips: amax, then the bytes) before streaming 8 rows, and blocks past one resident wave paid it again. Now
//   - the grid is what is resident at once (cudaOccupancyMaxActiveBlocksPerMultiprocessor x multiprocessors), the
//     rows spread evenly over its blocks, each block looping over its passes (grid stride): x is quantized once a
//     block, once a call's critical path;
//   - the prologue loads each thread's 16-byte chunks of x all at once (one L2 round trip), keeps them in registers
//     for the quantizing pass (up to kHeldChunks a thread: K = 8192 in bf16) and computes the MoE's silu(gate) * up
//     once a value;
//   - it is a programmatic dependent launch (dependent_launch.cuh): before the wait, only the weights (and routing
//     tables written two kernels back) are touched: each warp's first weights go to L2 while the kernel before still
//     runs and while the block quantizes x; each next pass's first weights go to L2 while the block streams a pass.
// setFp8QuantizeInProduct chooses between this and quantizeFp8 + the plain product (fp8_gemv.cu), for measuring.
#pragma once

#include <algorithm>

#include "fp8_stream_bulk.cuh"
#include "fp8_timeline.cuh"

namespace iris {
namespace fp8stream {

// The timeline's marks and slices (fp8_timeline.cuh) for the tensor-core streams only: on WarpPerRow's 48 registers
// the marks spill (ptxas: 8 to 20 bytes) in kernels every decode step runs; a benchmark forces the tensor cores to
// see those products. timelineOf: g's timeline, null at compile time for the other streams (their marks vanish).
template <typename Stream>
__device__ __forceinline__ unsigned long long* timelineOf(const Fp8RowsArgs& g) {
  if constexpr (Stream::kTensorCores) return g.timeline;
  return nullptr;
}
template <typename Stream>
__device__ __forceinline__ void markIf(const Fp8RowsArgs& g, fp8timeline::Mark m) {
  fp8timeline::mark(timelineOf<Stream>(g), m);
}
template <typename Stream>
unsigned long long* timelineSlice(const char* kernel, size_t N, size_t K, dim3 grid) {
  if constexpr (Stream::kTensorCores) return fp8timeline::slice(fp8timeline::launchName(kernel, N, K), grid.x, grid.y);
  return nullptr;
}

// Rows of one expert (or of a plain product), at most Stream::kMaxRows, K a multiple of 16, whose float values the
// Prologue gives (`chunk(p, c)`: row p of the call, 16-byte chunk c, in its storage type `Storage`, rounded where the
// model rounds): each block quantizes them into shared memory (dynamic: T * K bytes), then streams its weight rows
// against them (Stream::stream: passes of Stream::kRows rows, blockIdx.x's first, gridDim.x apart). Grid:
// (launchQuantizing's resident blocks, experts with rows at most). `routingBeforeWait`: the routing tables (offsets)
// were written two or more kernels back, so the block may find its expert, and prefetch that expert's weights,
// before waiting for the kernel before it.
template <typename Stream, typename Prologue>
__global__ void __launch_bounds__(kWarps * 32, Stream::kMinBlocksAlone)
    quantizingRowsKernel(Fp8RowsArgs g, Prologue value, bool routingBeforeWait) {
  uint8_t* xq = quantizedX + Stream::sharedBefore(g.K);
  __shared__ float shared32[32];
  __shared__ float xScale[Stream::kMaxRows];
  // NOTE: chunks is computed here, before the branches that prefetch: recomputed in each, ptxas spills decode's
  // variants at their 48 registers (WarpPerRow<1, 4, bf16>: 4 to 36 bytes).
  const int lane = threadIdx.x % 32, K = int(g.K), chunks = K / 16;
  int e = 0, start = 0, rows = 0;
  // Before the wait nothing the kernel before may still write is read, and nothing is written.
  const bool early = g.offsets == nullptr || routingBeforeWait;
  markIf<Stream>(g, fp8timeline::kEntry);
  if (early) {
    if (!blockExpertByWarp(g, lane, &e, &start, &rows)) return;  // the whole block alike
    Stream::prefetchFirst(g, e, chunks);
  }
  waitForPrevious();
  releaseNext();
  markIf<Stream>(g, fp8timeline::kWaited);
  if (!early) {
    if (!blockExpertByWarp(g, lane, &e, &start, &rows)) return;
    Stream::prefetchFirst(g, e, chunks);
  }
  for (int t = 0; t < rows; t++) {
    unsigned long long* marks = t == 0 ? timelineOf<Stream>(g) : nullptr;
    const float scale = quantizeRow(value, start + t, K, xq + size_t(t) * K, shared32, marks);
    if (threadIdx.x == 0) xScale[t] = scale;
    if (t == 0) markIf<Stream>(g, fp8timeline::kFirstPart);
  }
  __syncthreads();
  markIf<Stream>(g, fp8timeline::kQuantized);
  Stream::stream(g, e, start, rows, xq, xScale);
  markIf<Stream>(g, fp8timeline::kStreamed);
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

// Blocks of kKernel (a quantizing kernel) resident on one multiprocessor with `sharedBytes` of dynamic shared memory
// (asked once a size: decode meets one or two a model).
template <auto kKernel>
int residentBlocksPerSM(size_t sharedBytes) {
  static std::vector<std::pair<size_t, int>> known;
  for (const auto& [bytes, blocks] : known) {
    if (bytes == sharedBytes) return blocks;
  }
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kKernel, kWarps * 32, sharedBytes) != cudaSuccess || blocks < 1) {
    cudaGetLastError();
    return 1;  // not kept: asked again next time
  }
  known.emplace_back(sharedBytes, blocks);
  return blocks;
}

// The blocks along N: one resident wave (per expert with rows), the passes of `rowsPerPass` weight rows spread evenly
// over it, so each block streams the same number of passes and quantizes x once.
inline unsigned quantizingGridX(size_t N, int rowsPerPass, size_t groups, int blocksPerSM) {
  const size_t rowBlocks = (N + rowsPerPass - 1) / rowsPerPass;
  size_t resident = size_t(blocksPerSM) * size_t(multiprocessorCount()) / groups;
  if (resident < 1) resident = 1;
  const size_t passes = (rowBlocks + resident - 1) / resident;
  return unsigned((rowBlocks + passes - 1) / passes);
}

// The grid along N of kKernel (a quantizing kernel streaming as Stream) with `groups` groups of blocks and
// `sharedBytes` of dynamic shared memory: one block a tile (BulkRows, its shared memory allowed past 48 KB first), or
// one resident wave (quantizingGridX). 0 with *status set where the shared memory cannot be had.
template <typename Stream, auto kKernel>
unsigned streamGridX(size_t N, size_t groups, size_t sharedBytes, std::string* status) {
  if constexpr (Stream::kTileABlock) {
    *status = allowBulkShared<Stream, kKernel>();
    return status->empty() ? tilesOf(N) : 0;
  } else {
    return quantizingGridX(N, Stream::kRows, groups, residentBlocksPerSM<kKernel>(sharedBytes));
  }
}

// setFp8PrefetchBudget's budget in bytes (fp8_gemv.cu): 0 for the first batch of loads alone.
size_t prefetchBudgetBytes();

// Fp8RowsArgs::prefetchBytes for a launch of `gridX` x `groups` blocks of Stream: the whole of each warp's part of its
// first-pass rows while all those rows fit the budget, the same share of each past it, 0 (the first batch alone)
// without a budget. Before its wait a block overlaps only the kernel ahead: a latency-bound one (attention, a norm,
// the routing) leaves the memory idle, which these weights then fill; the budget keeps them within the 50 MB L2.
template <typename Stream>
int prefetchBytesFor(size_t K, size_t N, unsigned gridX, size_t groups) {
  const size_t budget = prefetchBudgetBytes();
  if (budget == 0) return 0;
  const size_t part = (K + Stream::kWarpsPerRow - 1) / Stream::kWarpsPerRow;
  const size_t rows = std::min(N, size_t(gridX) * Stream::kRows) * groups, firstPass = rows * K;
  const size_t bytes = firstPass <= budget ? K : part * budget / firstPass;  // whole rows: the kernel clips to its part
  return int(std::min<size_t>(bytes, INT32_MAX) / 16 * 16);
}

template <typename Stream, typename Prologue>
std::string launchStream(const Fp8RowsArgs& g, Prologue value, bool routingBeforeWait) {
  const size_t groups = g.offsets == nullptr ? 1 : (g.T < g.E ? g.T : g.E);  // at most this many experts have rows
  const size_t sharedBytes = Stream::sharedBefore(g.K) + g.T * g.K;
  std::string status;
  const dim3 grid(streamGridX<Stream, quantizingRowsKernel<Stream, Prologue>>(g.N, groups, sharedBytes, &status), unsigned(groups));
  if (!status.empty()) return status;
  Fp8RowsArgs args = g;
  args.prefetchBytes = prefetchBytesFor<Stream>(g.K, g.N, grid.x, groups);
  args.timeline = timelineSlice<Stream>("product", g.N, g.K, grid);
  return launchDependent(Stream::kName, quantizingRowsKernel<Stream, Prologue>, grid, dim3(kWarps * 32), sharedBytes,
                         args, value, routingBeforeWait);
}

// Whether a quantizing product of `rows` output rows streams its weights on the tensor cores (BulkRows or MmaRows) or
// the CUDA cores (WarpPerRow): setFp8ProductOnTensorCores's choice or its rule by rows, tensor cores only where the
// device has FP8 ones (fp8_gemv.cu).
bool productOnTensorCores(size_t rows);

// The weight streaming a quantizing product of N rows of K bytes against T x rows takes, as launch(StreamTag<Stream>{}):
// WarpPerRow on the CUDA cores; on the tensor cores BulkRows where kBulkAllowed and bulkRowsServe say so (at the
// default batch), else MmaRows.
template <typename S>
struct StreamTag {
  using type = S;
};
template <int MT, typename OutT, bool kBulkAllowed, int B, typename Launch>
std::string withStreamingAt(size_t N, size_t K, size_t T, Launch& launch) {
  if (!productOnTensorCores(N)) return launch(StreamTag<WarpPerRow<MT, B, OutT>>{});
  // NOTE: here, not inside withStreaming's generic lambda: nvcc instantiates a discarded `if constexpr` branch there.
  if constexpr (kBulkAllowed && B == kBatch) {
    if (bulkRowsServe<BulkRows<MT, OutT>>(K, T)) return launch(StreamTag<BulkRows<MT, OutT>>{});
  }
  return launch(StreamTag<MmaRows<MT, B, OutT>>{});
}
template <int MT, typename OutT, bool kBulkAllowed, typename Launch>
std::string withStreaming(size_t N, size_t K, size_t T, Launch launch) {
  return withStreamBatch<MT, OutT>([&](auto batch) {
    return withStreamingAt<MT, OutT, kBulkAllowed, decltype(batch)::value>(N, K, T, launch);
  });
}

template <int MT, typename OutT, typename Prologue>
std::string launchQuantizing(const Fp8RowsArgs& g, Prologue value, bool routingBeforeWait) {
  return withStreaming<MT, OutT, true>(g.N, g.K, g.T, [&](auto stream) {
    return launchStream<typename decltype(stream)::type>(g, value, routingBeforeWait);
  });
}

// The product of `g` (xScale unused) on rows whose float values `value` gives, quantized inside; "" or why not.
// bf16 (the models on cuda) and F32 (the tests against the cpu) only: every variant costs build time.
// `routingBeforeWait`: as quantizingRowsKernel's (true only where the routing tables are two kernels back).
template <typename OutT, typename Prologue>
std::string quantizingRows(const Fp8RowsArgs& g, Prologue value, bool routingBeforeWait = false) {
  static_assert(std::is_same_v<OutT, __nv_bfloat16> || std::is_same_v<OutT, float>, "bf16 or F32");
  static_assert(std::is_same_v<typename Prologue::Storage, OutT>, "x in the output's dtype");
  if (g.T == 0 || g.N == 0) return "";
  const std::string refusal = quantizingRowsRefusal(g);
  if (!refusal.empty()) return refusal;
  if (g.T <= 1) return launchQuantizing<1, OutT>(g, value, routingBeforeWait);
  if (g.T <= 2) return launchQuantizing<2, OutT>(g, value, routingBeforeWait);
  return launchQuantizing<4, OutT>(g, value, routingBeforeWait);
}

// Whether the products at decode sizes quantize their float input themselves (this file's kernel) or take
// quantizeFp8's bytes from a kernel of its own (fp8_gemv.cu: setFp8QuantizeInProduct, its default).
bool quantizesInProduct();

}  // namespace fp8stream
}  // namespace iris
