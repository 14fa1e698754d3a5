// FP8 E4M3 on the device, as src/core/fp8.ts defines it on the host: encoding rounds to nearest even and saturates to
// ±448 (cvt.rn.satfinite.e4m3x2.f32 on sm_89 and later; cuda_fp8.h emulates it bit for bit on older chips), NaN to
// 0x7f. A row's scale is max(amax / 448, 2^-126), with IEEE division (the build uses no fast math), so the cpu
// reference and these kernels agree byte for byte on the same inputs.
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>

namespace iris {

constexpr float kE4m3Max = 448.f;
constexpr float kMinFp8Scale = 1.17549435e-38f;  // 2^-126: the scale of an all-zero row

__device__ __forceinline__ float fp8ScaleFor(float amax) { return fmaxf(amax / kE4m3Max, kMinFp8Scale); }

__device__ __forceinline__ uint8_t toE4m3(float v) {
  return uint8_t(__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3));
}

// Two E4M3 bytes (the lower one in the low 8 bits) as floats: through half2, which holds every E4M3 value exactly.
__device__ __forceinline__ float2 e4m3x2ToFloat2(uint16_t pair) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(pair), __NV_E4M3);
  return __half22float2(__half2(h));
}

// The 16 values of a 16-byte chunk, in order.
__device__ __forceinline__ void e4m3x16ToFloat(const uint4& chunk, float (&out)[16]) {
  const uint32_t words[4] = {chunk.x, chunk.y, chunk.z, chunk.w};
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const float2 lo = e4m3x2ToFloat2(uint16_t(words[i] & 0xffffu));
    const float2 hi = e4m3x2ToFloat2(uint16_t(words[i] >> 16));
    out[4 * i] = lo.x;
    out[4 * i + 1] = lo.y;
    out[4 * i + 2] = hi.x;
    out[4 * i + 3] = hi.y;
  }
}

__device__ __forceinline__ float e4m3ToFloat(uint8_t byte) {
  return e4m3x2ToFloat2(uint16_t(byte)).x;
}

// Largest |v| over the block (blockDim.x a multiple of 32, at most 1024); NaN never wins (fmaxf); every thread
// gets the result.
__device__ __forceinline__ float blockAbsMax(float v, float* shared32) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  v = lane < warps ? shared32[lane] : 0.f;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace iris
