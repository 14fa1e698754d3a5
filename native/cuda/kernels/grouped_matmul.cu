// Grouped matrix products of the mixture of experts (see include/grouped_matmul.h): rows of `a` grouped by expert
// (offsets on the device), out[rowMap[p]] = a[p] · w[e(p)] with w [E, K, N] in x·W layout. The grid never depends
// on the group sizes, which only the device knows:
// - tensor cores (bf16, more than 8 rows): 64x128 output tiles, 4 warps of 32x64 (2x4 wmma 16x16x16 fragments),
//   k-steps of 64 double-buffered with cp.async (52 KiB of shared memory, three blocks per multiprocessor).
//   grid.y enumerates (expert, row tile) pairs (include/expert_tiles.cuh: at most maxRowTiles of them), and a block
//   walks the offsets to find its pair (or exits).
// - weight streaming (bf16, at most 8 rows, decode): grid (N / 256, k-splits, min(rows, E)); block z finds the z-th
//   expert with rows, so the grid holds no block for an expert without rows. A warp streams 16-byte chunks of its k
//   rows for 256 columns (8 per lane), every row of its expert at once; the warps' sums meet in shared memory and
//   one atomic add per column leaves the block for a zeroed F32 accumulator, rounded (or activated) by a final pass.
// - anything else (odd sizes, unaligned views, F32/F16): one thread per output, correct and slow.
#include <cuda_pipeline.h>
#include <cstdint>
#include <mma.h>

#include "expert_tiles.cuh"
#include "float_io.cuh"
#include "grouped_matmul.h"

namespace iris {

namespace {

using bf16 = __nv_bfloat16;

// Tensor-core tiles: 64 rows x 128 columns per block, k-steps of 64, four warps of 32 x 64 (2 x 4 fragments).
constexpr int kTileM = 64, kTileN = 128, kTileK = 64, kGemmThreads = 128;
constexpr int kWarpN = 64;                            // columns per warp (two warps across, two down)
constexpr int kLdA = kTileK + 8, kLdB = kTileN + 8;  // padded shared strides (elements): conflict-free fragment loads
constexpr int kLdC = kWarpN + 4;                      // fp32 staging stride: conflict-free 16-byte row reads
constexpr int kStageA = kTileM * kLdA, kStageB = kTileK * kLdB;
constexpr int kStages = 2;  // one k-step arrives while the other is computed
constexpr int kPipeBytes = kStages * (kStageA + kStageB) * 2;
constexpr int kStagingBytes = (kGemmThreads / 32) * 32 * kLdC * 4;
constexpr int kSmemBytes = kPipeBytes > kStagingBytes ? kPipeBytes : kStagingBytes;  // 52 KiB: dynamic, opted in

// ==== kernels ====

__global__ void __launch_bounds__(kGemmThreads, 3) tensorCoreKernel(GroupedMatmulArgs g) {
  using namespace nvcuda;
  extern __shared__ __align__(128) unsigned char smem[];
  int e = 0, rowStart = 0, rowEnd = 0;
  if (!findRowTile(g.offsets, int(g.E), kTileM, blockIdx.y, &e, &rowStart, &rowEnd)) return;
  const int K = int(g.K), N = int(g.N), n0 = blockIdx.x * kTileN;
  const int rows = min(kTileM, rowEnd - rowStart);
  const bf16* a = static_cast<const bf16*>(g.a);
  const bf16* w = static_cast<const bf16*>(g.w) + size_t(e) * K * N;
  bf16* sA = reinterpret_cast<bf16*>(smem);
  bf16* sB = sA + kStages * kStageA;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int warpM = warp / 2, warpN = warp % 2;

  // One k-step: A 64x64 (four 16-byte chunks per thread), B 64x128 (eight); outside the matrices, zeros.
  auto load = [&](int k0, int stage) {
#pragma unroll
    for (int h = 0; h < kTileM * kTileK / 8 / kGemmThreads; h++) {
      const int idx = tid + h * kGemmThreads, r = idx / (kTileK / 8), c = (idx % (kTileK / 8)) * 8;
      bf16* dst = sA + stage * kStageA + r * kLdA + c;
      if (r < rows && k0 + c < K) __pipeline_memcpy_async(dst, a + size_t(rowStart + r) * K + k0 + c, 16);
      else *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int h = 0; h < kTileK * kTileN / 8 / kGemmThreads; h++) {
      const int idx = tid + h * kGemmThreads, r = idx / (kTileN / 8), c = (idx % (kTileN / 8)) * 8;
      bf16* dst = sB + stage * kStageB + r * kLdB + c;
      if (k0 + r < K && n0 + c < N) __pipeline_memcpy_async(dst, w + size_t(k0 + r) * N + n0 + c, 16);
      else *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
    }
    __pipeline_commit();
  };

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) wmma::fill_fragment(acc[i][j], 0.f);

  const int steps = (K + kTileK - 1) / kTileK;
  load(0, 0);
  for (int s = 0; s < steps; s++) {
    // Step s + 1 goes to the stage step s - 1 used (every warp left it at the last barrier); then step s must be in.
    if (s + 1 < steps) {
      load((s + 1) * kTileK, (s + 1) % kStages);
      __pipeline_wait_prior(1);
    } else {
      __pipeline_wait_prior(0);
    }
    __syncthreads();
    const bf16* tA = sA + (s % kStages) * kStageA;
    const bf16* tB = sB + (s % kStages) * kStageB;
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb[4];
#pragma unroll
      for (int i = 0; i < 2; i++) wmma::load_matrix_sync(fa[i], tA + (warpM * 32 + i * 16) * kLdA + kk, kLdA);
#pragma unroll
      for (int j = 0; j < 4; j++) wmma::load_matrix_sync(fb[j], tB + kk * kLdB + warpN * kWarpN + j * 16, kLdB);
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    __syncthreads();  // the next iteration's load overwrites this stage
  }

  // Epilogue: each warp stages its 32x64 fp32 tile in shared memory (over the pipeline buffers, now idle), then lane
  // r writes row r of it as bf16, 16 bytes at a time, to its destination row.
  float* staging = reinterpret_cast<float*>(smem) + warp * 32 * kLdC;
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) wmma::store_matrix_sync(staging + i * 16 * kLdC + j * 16, acc[i][j], kLdC, wmma::mem_row_major);
  __syncwarp();
  const int r = warpM * 32 + lane;
  if (r >= rows) return;
  const int p = rowStart + r;
  const size_t dstRow = g.rowMap != nullptr ? size_t(g.rowMap[p]) : size_t(p);
  bf16* out = static_cast<bf16*>(g.out) + dstRow * N;
#pragma unroll
  for (int c = 0; c < kWarpN; c += 8) {
    const int n = n0 + warpN * kWarpN + c;
    if (n >= N) break;
    const float4 lo = *reinterpret_cast<const float4*>(staging + lane * kLdC + c);
    const float4 hi = *reinterpret_cast<const float4*>(staging + lane * kLdC + c + 4);
    __align__(16) bf16 v[8] = {__float2bfloat16_rn(lo.x), __float2bfloat16_rn(lo.y), __float2bfloat16_rn(lo.z),
                               __float2bfloat16_rn(lo.w), __float2bfloat16_rn(hi.x), __float2bfloat16_rn(hi.y),
                               __float2bfloat16_rn(hi.z), __float2bfloat16_rn(hi.w)};
    *reinterpret_cast<uint4*>(out + n) = *reinterpret_cast<const uint4*>(v);
  }
}

template <int MT>
__global__ void __launch_bounds__(256) streamKernel(GroupedMatmulArgs g, int kPerBlock) {
  constexpr int kUnroll = MT <= 2 ? 8 : 4;
  __shared__ __align__(16) float partial[8][256];
  // Block z serves the z-th expert that has rows (at most min(rows, E) of them: the grid's depth).
  int e = 0, start = 0, count = 0;
  for (int z = blockIdx.z; e < int(g.E); e++) {
    start = g.offsets[e];
    count = g.offsets[e + 1] - start;
    if (count > 0 && z-- == 0) break;
  }
  if (e >= int(g.E)) return;  // fewer experts have rows than the grid's depth
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  const int K = int(g.K), N = int(g.N);
  const int n = (blockIdx.x * 32 + lane) * 8;
  const bool valid = n < N;
  const int k0 = blockIdx.y * kPerBlock, k1 = min(K, k0 + kPerBlock);
  const bf16* a = static_cast<const bf16*>(g.a) + size_t(start) * K;
  const bf16* w = static_cast<const bf16*>(g.w) + size_t(e) * K * N + (valid ? n : 0);
  float sum[MT][8];
#pragma unroll
  for (int t = 0; t < MT; t++)
#pragma unroll
    for (int j = 0; j < 8; j++) sum[t][j] = 0.f;
  for (int k = k0 + warp; valid && k < k1; k += warps * kUnroll) {
    uint4 wv[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int kk = k + u * warps;
      // Streaming loads: the weights are read once per call; keep them out of L1.
      wv[u] = kk < k1 ? __ldcs(reinterpret_cast<const uint4*>(w + size_t(kk) * N)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int kk = k + u * warps;
      if (kk >= k1) break;
      const __nv_bfloat162* wp = reinterpret_cast<const __nv_bfloat162*>(&wv[u]);
#pragma unroll
      for (int t = 0; t < MT; t++) {
        if (t >= count) break;
        const float x = __bfloat162float(a[size_t(t) * K + kk]);
#pragma unroll
        for (int h = 0; h < 4; h++) {
          const float2 wf = __bfloat1622float2(wp[h]);
          sum[t][2 * h] = fmaf(x, wf.x, sum[t][2 * h]);
          sum[t][2 * h + 1] = fmaf(x, wf.y, sum[t][2 * h + 1]);
        }
      }
    }
  }
  // The 8 warps' partial sums meet in shared memory; one atomic add per column and row leaves the block.
#pragma unroll
  for (int t = 0; t < MT; t++) {
    if (t >= count) break;  // count is the block's: every thread takes the same path
    float4* mine = reinterpret_cast<float4*>(&partial[warp][lane * 8]);
    mine[0] = make_float4(sum[t][0], sum[t][1], sum[t][2], sum[t][3]);
    mine[1] = make_float4(sum[t][4], sum[t][5], sum[t][6], sum[t][7]);
    __syncthreads();
    const int c = threadIdx.x, column = blockIdx.x * 256 + c;
    float total = 0.f;
#pragma unroll
    for (int v = 0; v < 8; v++) total += partial[v][c];
    if (column < N) atomicAdd(g.accumulator + size_t(start + t) * N + column, total);
    __syncthreads();
  }
}

// Rounds the accumulated rows once: out[rowMap[p], n] = acc[p, n]; with siluMul, out [rows, N/2] =
// silu(bf16(acc[p, j])) * bf16(acc[p, N/2 + j]), rounded as siluAndMul rounds the unfused bf16 product.
__global__ void roundRowsKernel(GroupedMatmulArgs g) {
  bf16* out = static_cast<bf16*>(g.out);
  const size_t width = g.siluMul ? g.N / 2 : g.N;
  const size_t total = g.rows * width;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t p = i / width, n = i % width;
    if (g.siluMul) {
      const float gate = __bfloat162float(__float2bfloat16_rn(g.accumulator[p * g.N + n]));
      const float up = __bfloat162float(__float2bfloat16_rn(g.accumulator[p * g.N + width + n]));
      out[i] = __float2bfloat16_rn(gate / (1.f + expf(-gate)) * up);
    } else {
      const size_t dst = g.rowMap != nullptr ? size_t(g.rowMap[p]) : p;
      out[dst * g.N + n] = __float2bfloat16_rn(g.accumulator[i]);
    }
  }
}

template <typename T>
__global__ void plainKernel(GroupedMatmulArgs g) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  const int K = int(g.K), N = int(g.N), E = int(g.E);
  if (n >= N) return;
  for (size_t p = blockIdx.y; p < g.rows; p += gridDim.y) {
    int e = 0;
    while (e + 1 < E && g.offsets[e + 1] <= int(p)) e++;
    const T* a = static_cast<const T*>(g.a) + p * K;
    const T* w = static_cast<const T*>(g.w) + size_t(e) * K * N + n;
    float sum = 0.f;
    for (int k = 0; k < K; k++) sum = fmaf(toFloat(a[k]), toFloat(w[size_t(k) * N]), sum);
    const size_t dst = g.rowMap != nullptr ? size_t(g.rowMap[p]) : p;
    static_cast<T*>(g.out)[dst * N + n] = fromFloat<T>(sum);
  }
}

bool fastPath(const GroupedMatmulArgs& g) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(g.a) | reinterpret_cast<uintptr_t>(g.w) | reinterpret_cast<uintptr_t>(g.out);
  return g.dtype == kBF16 && g.K % 8 == 0 && g.N % 8 == 0 && bits % 16 == 0;
}

template <int MT>
std::string launchStream(const GroupedMatmulArgs& g) {
  // One expert's blocks (the columns' tiles times the k-splits) fill the device once: more would leave a last,
  // partial wave streaming at a fraction of the bandwidth; fewer would leave multiprocessors idle.
  static int residentPerSM = 0;
  if (residentPerSM == 0) {
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&residentPerSM, streamKernel<MT>, 256, 0) != cudaSuccess ||
        residentPerSM < 1) {
      cudaGetLastError();
      residentPerSM = 1;
    }
  }
  const int tiles = int((g.N / 8 + 31) / 32);
  int splits = residentPerSM * multiprocessorCount() / tiles;
  const int maxSplits = int((g.K + 63) / 64);
  if (splits > maxSplits) splits = maxSplits;
  if (splits < 1) splits = 1;
  const int kPerBlock = int((g.K + splits - 1) / splits + 7) / 8 * 8;
  splits = int((g.K + kPerBlock - 1) / kPerBlock);
  const size_t experts = g.rows < g.E ? g.rows : g.E;  // at most this many experts have rows
  streamKernel<MT><<<dim3(unsigned(tiles), unsigned(splits), unsigned(experts)), 256, 0, stream()>>>(g, kPerBlock);
  std::string status = launchStatus("moe (weight-streaming product)");
  if (!status.empty()) return status;
  roundRowsKernel<<<blocksFor(g.rows * g.N), kThreads, 0, stream()>>>(g);
  return launchStatus("moe (rounding the product)");
}

}  // namespace

// ==== launcher ====

bool groupedMatmulStreams(const GroupedMatmulArgs& g) {
  return fastPath(g) && g.rows <= kGroupedStreamRows;
}

std::string groupedMatmul(const GroupedMatmulArgs& g) {
  if (g.rows == 0 || g.N == 0) return "";
  if (g.K > size_t(INT32_MAX) || g.N > size_t(INT32_MAX) || g.rows > size_t(INT32_MAX)) return "moe: a product too large";
  if (g.siluMul && (!groupedMatmulStreams(g) || g.N % 2 != 0)) return "moe: siluMul needs the weight-streaming path";
  if (groupedMatmulStreams(g)) {
    if (g.accumulator == nullptr) return "moe: the weight-streaming path needs a zeroed accumulator";
    if (g.rows == 1) return launchStream<1>(g);
    if (g.rows == 2) return launchStream<2>(g);
    if (g.rows <= 4) return launchStream<4>(g);
    return launchStream<8>(g);
  }
  if (fastPath(g)) {
    const size_t tilesY = maxRowTiles(g.rows, g.E, kTileM);
    if (tilesY > 65535) return "moe: too many rows for one call (" + std::to_string(g.rows) + ")";
    // Above the 48 KiB of static shared memory: opted in once per process (the device is chosen once).
    static const cudaError_t optIn = cudaFuncSetAttribute(tensorCoreKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes);
    if (optIn != cudaSuccess) return cudaStatus(optIn, "cudaFuncSetAttribute (moe tensor-core product)");
    const dim3 grid(unsigned((g.N + kTileN - 1) / kTileN), unsigned(tilesY));
    tensorCoreKernel<<<grid, kGemmThreads, kSmemBytes, stream()>>>(g);
    return launchStatus("moe (tensor-core grouped product)");
  }
  const dim3 grid(unsigned((g.N + 127) / 128), unsigned(g.rows < 65535 ? g.rows : 65535));
  IRIS_FLOAT_DISPATCH(g.dtype, T, plainKernel<T><<<grid, 128, 0, stream()>>>(g));
  return launchStatus("moe (plain grouped product)");
}

}  // namespace iris
