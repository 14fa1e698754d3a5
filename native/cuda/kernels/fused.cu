// Fused kernels for the decoder's step, each replacing launches the contract's kernels need separately:
// - addRmsNorm: residual += x, then out = rmsNorm(residual) * weight (the add's bf16 rounding kept, so the result
//   equals add then rmsNorm), one pass instead of two kernels and a round trip of the residual.
// - rotaryStoreKV: from the fused q|k|v projection [T, (Hq + 2 Hk) D], writes rotated q [T, Hq, D] and stores the
//   rotated k and the v rows straight into the paged caches (slot < 0: padding, skipped), replacing three column
//   slices, two rotary kernels and the KV store; with Llama 4's QK norm (each head RMS-normalized after the rotation)
//   or its query temperature (NoPE layers, no rotation) also the two norms or the scaling.
#include <algorithm>
#include <string>

#include "dependent_launch.cuh"
#include "float_io.cuh"

namespace iris {

namespace {

// ==== kernels ====

// One block per row; each thread keeps its kPer elements of the row in registers between the two passes (H up to
// kPer * 1024), so the residual is read once and every load of a thread is issued before the first is used: a decode
// row (H = 2048) is latency-bound, not bandwidth-bound.
constexpr int kPer = 8;

template <typename T>
__global__ void addRmsNormKernel(T* out, T* residual, const T* x, const T* w, size_t H, float eps) {
  __shared__ float scratch[32];
  T* res = residual + blockIdx.x * H;
  const T* row = x + blockIdx.x * H;
  T* dst = out + blockIdx.x * H;
  float sums[kPer], weights[kPer];
  float ss = 0.f;
  // The weights are parameters: read before the wait on the kernel ahead (launched as its dependent).
#pragma unroll
  for (int e = 0; e < kPer; e++) {
    const size_t j = threadIdx.x + size_t(e) * blockDim.x;
    weights[e] = j < H && w != nullptr ? toFloat(w[j]) : 1.f;
  }
  waitForPrevious();
  releaseNext();
#pragma unroll
  for (int e = 0; e < kPer; e++) {
    const size_t j = threadIdx.x + size_t(e) * blockDim.x;
    sums[e] = j < H ? toFloat(fromFloat<T>(toFloat(res[j]) + toFloat(row[j]))) : 0.f;  // rounded as the unfused add stores it
  }
#pragma unroll
  for (int e = 0; e < kPer; e++) {
    const size_t j = threadIdx.x + size_t(e) * blockDim.x;
    if (j < H) res[j] = fromFloat<T>(sums[e]);
    ss += sums[e] * sums[e];
  }
  const float inv = rsqrtf(blockSum(ss, scratch) / float(H) + eps);
#pragma unroll
  for (int e = 0; e < kPer; e++) {
    const size_t j = threadIdx.x + size_t(e) * blockDim.x;
    if (j < H) dst[j] = fromFloat<T>(sums[e] * inv * weights[e]);
  }
}

// One thread per output element: grid.x the tokens, grid.y slices of a token's (Hq + Hk) * D rotated q and k
// elements followed by its Hk * D v elements, so a decode token spreads over several blocks instead of one block
// walking all of them.
constexpr int kRotaryThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kRotaryThreads) rotaryStoreKVKernel(T* q, T* kCache, T* vCache, const T* qkv,
    const float* cosTab, const float* sinTab, const int32_t* slots, int Hq, int Hk, int D, int R, bool interleaved,
    size_t numSlots, float qkNormEps, const float* qScale) {
  __shared__ float warpSquares[kRotaryThreads / 32];
  waitForPrevious();  // launched as a dependent of the product that wrote qkv
  releaseNext();
  const int t = blockIdx.x;
  const int idx = blockIdx.y * kRotaryThreads + threadIdx.x;
  const int rotated = (Hq + Hk) * D;
  const bool inRange = idx < rotated + Hk * D;
  const T* src = qkv + size_t(t) * (Hq + 2 * Hk) * D;
  const int32_t slot = slots[t];
  const bool store = slot >= 0 && size_t(slot) < numSlots;
  const int head = idx / D, d = idx % D;
  float value = inRange ? toFloat(src[idx]) : 0.f;
  if (inRange && idx < rotated && d < 2 * R) {
    const T* in = src + head * D;
    const int j = interleaved ? d / 2 : (d < R ? d : d - R);
    const int other = interleaved ? (d ^ 1) : (d < R ? d + R : d - R);
    const bool first = interleaved ? (d % 2 == 0) : (d < R);
    const float o = toFloat(in[other]), c = cosTab[size_t(t) * R + j], s = sinTab[size_t(t) * R + j];
    value = first ? value * c - o * s : value * c + o * s;
  }
  if (qkNormEps >= 0.f) {
    // The QK norm, as rmsNorm would read the rotated head back: rounded to T, then the head's mean square. A block
    // holds whole heads (kRotaryThreads a multiple of D): a head's lanes (a run of D, or whole warps) sum by shuffles
    // among themselves, and a head wider than a warp adds its warps' sums through shared memory (D uniform: every
    // thread reaches the barrier or none does).
    value = toFloat(fromFloat<T>(value));
    float sum = value * value;
    for (int o = (D < 32 ? D : 32) / 2; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (D > 32) {
      if (threadIdx.x % 32 == 0) warpSquares[threadIdx.x / 32] = sum;
      __syncthreads();
      const int warpsPerHead = D / 32, firstWarp = (threadIdx.x / D) * warpsPerHead;
      sum = 0.f;
      for (int w = 0; w < warpsPerHead; w++) sum += warpSquares[firstWarp + w];
    }
    value *= rsqrtf(sum / float(D) + qkNormEps);
  }
  if (!inRange) return;
  if (idx >= rotated) {
    if (store) vCache[size_t(slot) * Hk * D + (idx - rotated)] = src[idx];
    return;
  }
  if (head < Hq) {
    if (qScale != nullptr) value = toFloat(fromFloat<T>(value)) * qScale[t];  // scaleRows on the stored query
    q[(size_t(t) * Hq + head) * D + d] = fromFloat<T>(value);
  } else if (store) {
    kCache[(size_t(slot) * Hk + (head - Hq)) * D + d] = fromFloat<T>(value);
  }
}

}  // namespace

// ==== launchers ====

std::string addRmsNorm(int dtype, void* out, void* residual, const void* x, const void* w, size_t rows, size_t H, float eps) {
  if (rows == 0 || H == 0) return "";
  if (H > size_t(kPer) * 1024) return "addRmsNorm: rows of " + std::to_string(H) + " exceed " + std::to_string(kPer * 1024);
  // The fewest threads that hold the row at kPer elements each, rounded to whole warps.
  const unsigned threads = unsigned(std::max<size_t>(32, ((H + kPer - 1) / kPer + 31) / 32 * 32));
  IRIS_FLOAT_DISPATCH(dtype, T,
    return launchDependent("cudaLaunchKernelEx (addRmsNorm)", addRmsNormKernel<T>, dim3{unsigned(rows)}, dim3{threads}, 0,
      static_cast<T*>(out), static_cast<T*>(residual), static_cast<const T*>(x), static_cast<const T*>(w), H, eps));
  return "";
}

std::string rotaryStoreKV(int dtype, void* q, void* kCache, void* vCache, const void* qkv, const float* cos,
                          const float* sin, const int32_t* slots, size_t T, int Hq, int Hk, int D, int R,
                          bool interleaved, size_t numSlots, float qkNormEps, const float* qScale) {
  if (T == 0) return "";
  const bool powerOfTwoBelowWarp = D >= 2 && D < 32 && (D & (D - 1)) == 0;
  if (qkNormEps >= 0.f && !powerOfTwoBelowWarp && (D % 32 != 0 || kRotaryThreads % D != 0)) {
    return "rotaryStoreKV: the QK norm needs a head dim of 2 to 16 (a power of two), 32, 64, 128 or 256, got " + std::to_string(D);
  }
  IRIS_FLOAT_DISPATCH(dtype, E,
    return launchDependent("cudaLaunchKernelEx (rotaryStoreKV)", rotaryStoreKVKernel<E>,
      dim3{unsigned(T), unsigned(((Hq + 2 * Hk) * D + kRotaryThreads - 1) / kRotaryThreads)}, dim3{kRotaryThreads}, 0,
      static_cast<E*>(q), static_cast<E*>(kCache), static_cast<E*>(vCache), static_cast<const E*>(qkv), cos, sin, slots,
      Hq, Hk, D, R, interleaved, numSlots, qkNormEps, qScale));
  return "";
}

}  // namespace iris
