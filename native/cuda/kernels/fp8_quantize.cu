// FP8 quantization with one scale per row (Backend.quantizeFp8): activations per token before every FP8 product, and
// weights once while loading. Two passes over each row (the largest magnitude, then the bytes); the cpu reference is
// src/runtime/cpu/fp8.ts and every byte and scale must equal it.
// - rows: one block per row, threads striding over its columns (a row of a token or a weight is at most a few
//   thousand values; both passes stay in L1/L2).
// - transposed (stacked experts [E, K, N] in the x·W layout -> [E, N, K]): a block takes 32 columns of one expert;
//   the largest magnitudes with reads coalesced along the columns, then 32x32 tiles through shared memory so both the
//   reads (along N) and the writes (along K) are coalesced. Load time only.
#include "float_io.cuh"
#include "fp8.cuh"

namespace iris {

namespace {

// ==== kernels ====

template <typename T>
__global__ void __launch_bounds__(256) quantizeRowsKernel(uint8_t* q, float* scale, const T* x, int C) {
  __shared__ float shared32[32];
  const size_t row = blockIdx.x;
  const T* src = x + row * C;
  float amax = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) amax = fmaxf(amax, fabsf(toFloat(src[c])));
  const float s = fp8ScaleFor(blockAbsMax(amax, shared32));
  if (threadIdx.x == 0) scale[row] = s;
  uint8_t* dst = q + row * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = toE4m3(toFloat(src[c]) / s);
}

constexpr int kTile = 32, kTileRows = 8;

// x [batches][C][R]; block (kTile, kTileRows) threads, grid (ceil(R / 32), batches).
template <typename T>
__global__ void __launch_bounds__(kTile * kTileRows) quantizeTransposedKernel(uint8_t* q, float* scale, const T* x, int R, int C) {
  __shared__ float tile[kTile][kTile + 1];
  __shared__ float scales[kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int r0 = blockIdx.x * kTile;
  const size_t b = blockIdx.y;
  const T* src = x + b * size_t(R) * C;
  // Pass 1: column r0 + tx's largest magnitude, the 8 row groups meeting in shared memory.
  float amax = 0.f;
  if (r0 + tx < R) {
    for (int c = ty; c < C; c += kTileRows) amax = fmaxf(amax, fabsf(toFloat(src[size_t(c) * R + r0 + tx])));
  }
  tile[ty][tx] = amax;
  __syncthreads();
  if (ty == 0) {
    float m = 0.f;
#pragma unroll
    for (int i = 0; i < kTileRows; i++) m = fmaxf(m, tile[i][tx]);
    const float s = fp8ScaleFor(m);
    scales[tx] = s;
    if (r0 + tx < R) scale[b * R + r0 + tx] = s;
  }
  __syncthreads();
  // Pass 2: 32x32 tiles, read along r (x's rows), written along c (q's rows).
  uint8_t* dst = q + b * size_t(R) * C;
  for (int c0 = 0; c0 < C; c0 += kTile) {
    for (int i = ty; i < kTile; i += kTileRows) {
      const int c = c0 + i;
      tile[i][tx] = c < C && r0 + tx < R ? toFloat(src[size_t(c) * R + r0 + tx]) : 0.f;
    }
    __syncthreads();
    for (int i = ty; i < kTile; i += kTileRows) {
      const int r = r0 + i, c = c0 + tx;
      if (r < R && c < C) dst[size_t(r) * C + c] = toE4m3(tile[tx][i] / scales[i]);
    }
    __syncthreads();
  }
}

}  // namespace

// ==== launcher ====

std::string quantizeFp8(int inDtype, void* q, float* scale, const void* x, size_t batches, size_t R, size_t C, bool transpose) {
  if (batches == 0 || R == 0) return "";
  if (C > size_t(INT32_MAX) || R > size_t(INT32_MAX)) return "quantizeFp8: rows too long";
  uint8_t* bytes = static_cast<uint8_t*>(q);
  if (!transpose) {
    if (batches * R > size_t(INT32_MAX)) return "quantizeFp8: too many rows";
    IRIS_FLOAT_DISPATCH(inDtype, T, quantizeRowsKernel<T><<<unsigned(batches * R), 256, 0, stream()>>>(bytes, scale, static_cast<const T*>(x), int(C)));
    return launchStatus("quantizeFp8 (rows)");
  }
  if (batches > 65535) return "quantizeFp8: more than 65535 stacked matrices";
  const dim3 grid(unsigned((R + kTile - 1) / kTile), unsigned(batches));
  IRIS_FLOAT_DISPATCH(inDtype, T, quantizeTransposedKernel<T><<<grid, dim3(kTile, kTileRows), 0, stream()>>>(bytes, scale,
    static_cast<const T*>(x), int(R), int(C)));
  return launchStatus("quantizeFp8 (transposed)");
}

}  // namespace iris
