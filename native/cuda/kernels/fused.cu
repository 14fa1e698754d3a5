// Fused kernels for the decoder's step, each replacing launches the contract's kernels need separately:
// - addRmsNorm: residual += x, then out = rmsNorm(residual) * weight (the add's bf16 rounding kept, so the result
//   equals add then rmsNorm), one pass instead of two kernels and a round trip of the residual.
// - rotaryStoreKV: from the fused q|k|v projection [T, (Hq + 2 Hk) D], writes rotated q [T, Hq, D] and stores the
//   rotated k and the v rows straight into the paged caches (slot < 0: padding, skipped), replacing three column
//   slices, two rotary kernels and the KV store; with Llama 4's QK norm (each head RMS-normalized after the rotation)
//   or its query temperature (NoPE layers, no rotation) also the two norms or the scaling. Its kernels are in
//   include/rotary_store_kv.cuh (a 16-byte one by the rule, the one-value one for the QK norm and odd shapes).
#include <algorithm>
#include <string>

#include "dependent_launch.cuh"
#include "float_io.cuh"
#include "rotary_store_kv.cuh"
#include "vec16.cuh"

namespace iris {

namespace {

// ==== kernels ====

// One block per row; each thread keeps its kPer consecutive elements of the row in registers between the two passes
// (H up to kPer * 1024), so the residual is read once and every load of a thread is issued before the first is used:
// a decode row (H = 2048) is latency-bound, not bandwidth-bound. Thread i holds elements kPer i .. kPer i + kPer - 1
// and sums their squares in order, as gemv's NORM edge does with its 16-byte chunks: at H = 2048 (256 threads each
// way) the two give the same bits, so a decode step's fused norm equals this kernel's.
constexpr int kPer = 8;

// A thread's kPer consecutive values from j0 (zeros past H): 16-byte loads where the row allows (`packed`: H a
// multiple of kPer, 16-byte aligned rows), else one value at a time.
template <typename T>
__device__ __forceinline__ void loadRun(float (&v)[kPer], const T* p, size_t j0, size_t H, bool packed) {
  if (packed && j0 < H) {
#pragma unroll
    for (int k = 0; k < kPer; k += Vec16<T>::kN) {
      Vec16<T> pack;
      pack.load(p + j0 + k);
#pragma unroll
      for (int e = 0; e < Vec16<T>::kN; e++) v[k + e] = pack.v[e];
    }
    return;
  }
#pragma unroll
  for (int e = 0; e < kPer; e++) v[e] = j0 + e < H ? toFloat(p[j0 + e]) : 0.f;
}

template <typename T>
__device__ __forceinline__ void storeRun(T* p, const float (&v)[kPer], size_t j0, size_t H, bool packed) {
  if (packed && j0 < H) {
#pragma unroll
    for (int k = 0; k < kPer; k += Vec16<T>::kN) {
      Vec16<T> pack;
#pragma unroll
      for (int e = 0; e < Vec16<T>::kN; e++) pack.v[e] = v[k + e];
      pack.store(p + j0 + k);
    }
    return;
  }
#pragma unroll
  for (int e = 0; e < kPer; e++) {
    if (j0 + e < H) p[j0 + e] = fromFloat<T>(v[e]);
  }
}

template <typename T>
__global__ void addRmsNormKernel(T* out, T* residual, const T* x, const T* w, size_t H, float eps, bool packed) {
  __shared__ float scratch[32];
  T* res = residual + blockIdx.x * H;
  const T* row = x + blockIdx.x * H;
  T* dst = out + blockIdx.x * H;
  const size_t j0 = size_t(threadIdx.x) * kPer;
  float sums[kPer], adds[kPer], weights[kPer];
  // The weights are parameters: read before the wait on the kernel ahead (launched as its dependent).
  if (w != nullptr) loadRun(weights, w, j0, H, packed);
  else
#pragma unroll
    for (int e = 0; e < kPer; e++) weights[e] = 1.f;
  waitForPrevious();
  releaseNext();
  loadRun(sums, res, j0, H, packed);
  loadRun(adds, row, j0, H, packed);
  float ss = 0.f;
#pragma unroll
  for (int e = 0; e < kPer; e++) {
    sums[e] = toFloat(fromFloat<T>(sums[e] + adds[e]));  // rounded as the unfused add stores it
    ss += sums[e] * sums[e];
  }
  storeRun(res, sums, j0, H, packed);
  const float inv = rsqrtf(blockSum(ss, scratch) / float(H) + eps);
#pragma unroll
  for (int e = 0; e < kPer; e++) adds[e] = sums[e] * inv * weights[e];
  storeRun(dst, adds, j0, H, packed);
}

// -1: the rule (the 16-byte kernel wherever it applies from kVec16MinTokens tokens); 0 or 1 forced by
// setRotaryStoreKVVec16.
int rotaryStoreKVVec16Mode = -1;
// Below this many tokens the one-value kernel's many small blocks start sooner than the 16-byte kernel's few: on the
// H200 (Qwen2.5-VL-3B's shape, in graphs, 0efc7b5) 1.11 µs against 1.41 at one token, 8.01 against 2.28 at 512.
// Between the two, where they cross is not measured; 8 tokens is the guess.
constexpr size_t kVec16MinTokens = 8;

}  // namespace

// ==== launchers ====

std::string addRmsNorm(int dtype, void* out, void* residual, const void* x, const void* w, size_t rows, size_t H, float eps) {
  if (rows == 0 || H == 0) return "";
  if (H > size_t(kPer) * 1024) return "addRmsNorm: rows of " + std::to_string(H) + " exceed " + std::to_string(kPer * 1024);
  // The fewest threads that hold the row at kPer elements each, rounded to whole warps.
  const unsigned threads = unsigned(std::max<size_t>(32, ((H + kPer - 1) / kPer + 31) / 32 * 32));
  IRIS_FLOAT_DISPATCH(dtype, T,
    return launchDependent("cudaLaunchKernelEx (addRmsNorm)", addRmsNormKernel<T>, dim3{unsigned(rows)}, dim3{threads}, 0,
      static_cast<T*>(out), static_cast<T*>(residual), static_cast<const T*>(x), static_cast<const T*>(w), H, eps,
      H % kPer == 0 && vec16Fits<T>(H, {out, residual, x, w})));
  return "";
}

void setRotaryStoreKVVec16(int mode) { rotaryStoreKVVec16Mode = mode == 0 || mode == 1 ? mode : -1; }

std::string rotaryStoreKV(int dtype, void* q, void* kCache, void* vCache, const void* qkv, const float* cos,
                          const float* sin, const int32_t* slots, size_t T, int Hq, int Hk, int D, int R,
                          bool interleaved, size_t numSlots, float qkNormEps, const float* qScale) {
  if (T == 0) return "";
  const bool powerOfTwoBelowWarp = D >= 2 && D < 32 && (D & (D - 1)) == 0;
  if (qkNormEps >= 0.f && !powerOfTwoBelowWarp && (D % 32 != 0 || kRotaryThreads % D != 0)) {
    return "rotaryStoreKV: the QK norm needs a head dim of 2 to 16 (a power of two), 32, 64, 128 or 256, got " + std::to_string(D);
  }
  IRIS_FLOAT_DISPATCH(dtype, E,
    const bool byRule = rotaryStoreKVVec16Mode == 1 || (rotaryStoreKVVec16Mode == -1 && T >= kVec16MinTokens);
    if (byRule &&
        rotaryStoreKVVec16Fits<E>(q, kCache, vCache, qkv, cos, sin, T, Hq, Hk, D, R, interleaved, qkNormEps)) {
      const size_t threads = T * RotaryStoreKVPacks(Hq, Hk, D, R, interleaved, Vec16<E>::kN).perToken;
      const dim3 grid{unsigned((threads + kRotaryVec16Threads - 1) / kRotaryVec16Threads)};
      auto kernel = interleaved ? rotaryStoreKVVec16Kernel<E, true> : rotaryStoreKVVec16Kernel<E, false>;
      return launchDependent("cudaLaunchKernelEx (rotaryStoreKV)", kernel, grid, dim3{kRotaryVec16Threads}, 0,
        static_cast<E*>(q), static_cast<E*>(kCache), static_cast<E*>(vCache), static_cast<const E*>(qkv), cos, sin, slots,
        uint32_t(T), uint32_t(Hq), uint32_t(Hk), uint32_t(D), uint32_t(R), numSlots, qScale);
    }
    return launchDependent("cudaLaunchKernelEx (rotaryStoreKV)", rotaryStoreKVKernel<E>,
      dim3{unsigned(T), unsigned(((Hq + 2 * Hk) * D + kRotaryThreads - 1) / kRotaryThreads)}, dim3{kRotaryThreads}, 0,
      static_cast<E*>(q), static_cast<E*>(kCache), static_cast<E*>(vCache), static_cast<const E*>(qkv), cos, sin, slots,
      Hq, Hk, D, R, interleaved, numSlots, qkNormEps, qScale));
  return "";
}

}  // namespace iris
