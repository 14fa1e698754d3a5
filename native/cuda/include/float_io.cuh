// Loads and stores of the float storage types as fp32, so each kernel is written once over float math.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "iris_cuda.h"

namespace iris {

__device__ __forceinline__ float toFloat(float v) { return v; }
__device__ __forceinline__ float toFloat(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float toFloat(__half v) { return __half2float(v); }

template <typename T> __device__ __forceinline__ T fromFloat(float v);
template <> __device__ __forceinline__ float fromFloat<float>(float v) { return v; }
// Round to nearest even, as torch's .to(bfloat16) does.
template <> __device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __half fromFloat<__half>(float v) { return __float2half_rn(v); }

constexpr int kThreads = 256;

inline unsigned blocksFor(size_t n, int threads = kThreads) {
  size_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535u * 32u ? (blocks == 0 ? 1 : blocks) : 65535u * 32u);
}

// Calls `body.template operator()<T>()` with T the storage type of a float dtype; false for other dtypes.
#define IRIS_FLOAT_DISPATCH(dtype, T, ...)            \
  switch (dtype) {                                    \
    case kF32: { using T = float; __VA_ARGS__; break; }          \
    case kBF16: { using T = __nv_bfloat16; __VA_ARGS__; break; } \
    case kF16: { using T = __half; __VA_ARGS__; break; }         \
    default: return "unsupported dtype " + std::to_string(dtype); \
  }

// SwiGLU's silu(g) * u, in one place for every kernel that computes it (siluAndMul, the FP8 experts' down-product
// prologue), so they round alike.
__device__ __forceinline__ float siluTimes(float g, float u) { return g / (1.f + expf(-g)) * u; }

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
__device__ __forceinline__ float blockSum(float v, float* shared32) {
  v = warpSum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  v = lane < warps ? shared32[lane] : 0.f;
  return warpSum(v);
}

}  // namespace iris
