// Row reductions: RMSNorm, LayerNorm (two passes: mean, then the variance of x - mean) and softmax. One block per
// row; statistics in fp32; the row is read again from L2 for the output rather than held in shared memory.
#include <cfloat>

#include "dependent_launch.cuh"
#include "float_io.cuh"
#include "vec16.cuh"

namespace iris {

namespace {

// ==== kernels ====

template <typename T>
__global__ void rmsNormKernel(T* out, const T* x, const T* w, size_t H, float eps) {
  __shared__ float scratch[32];
  const T* row = x + blockIdx.x * H;
  T* dst = out + blockIdx.x * H;
  float ss = 0.f;
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
    const float v = toFloat(row[j]);
    ss += v * v;
  }
  const float inv = rsqrtf(blockSum(ss, scratch) / float(H) + eps);
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
    const float v = toFloat(row[j]) * inv;
    dst[j] = fromFloat<T>(w == nullptr ? v : v * toFloat(w[j]));
  }
}

// rmsNormKernel for rows of at most 1024 16-byte packs, each thread holding one pack between the two passes (a row
// read once, one load a thread): the vision tower's 18,144 rows of 1280 took 69 µs the scalar way (1.35 TB/s).
// Launched as a programmatic dependent of the kernel before it (dependent_launch.cuh): the weights are read before
// the wait, and a decode step's next product may start streaming its own while this one runs.
template <typename T>
__global__ void rmsNormVecKernel(T* out, const T* x, const T* w, size_t H, float eps) {
  constexpr int kN = Vec16<T>::kN;
  __shared__ float scratch[32];
  const size_t p = threadIdx.x, packs = H / kN;
  Vec16<T> v, g;
  if (w != nullptr && p < packs) g.load(w + p * kN);
  waitForPrevious();
  releaseNext();
  float ss = 0.f;
  if (p < packs) {
    v.load(x + blockIdx.x * H + p * kN);
#pragma unroll
    for (int e = 0; e < kN; e++) ss += v.v[e] * v.v[e];
  }
  const float inv = rsqrtf(blockSum(ss, scratch) / float(H) + eps);
  if (p >= packs) return;
#pragma unroll
  for (int e = 0; e < kN; e++) v.v[e] = w == nullptr ? v.v[e] * inv : v.v[e] * inv * g.v[e];
  v.store(out + blockIdx.x * H + p * kN);
}

template <typename T>
__global__ void layerNormKernel(T* out, const T* x, const T* w, const T* b, size_t H, float eps) {
  __shared__ float scratch[32];
  const T* row = x + blockIdx.x * H;
  T* dst = out + blockIdx.x * H;
  float sum = 0.f;
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) sum += toFloat(row[j]);
  const float mean = blockSum(sum, scratch) / float(H);
  float ss = 0.f;
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
    const float d = toFloat(row[j]) - mean;
    ss += d * d;
  }
  const float inv = rsqrtf(blockSum(ss, scratch) / float(H) + eps);
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
    dst[j] = fromFloat<T>((toFloat(row[j]) - mean) * inv * toFloat(w[j]) + toFloat(b[j]));
  }
}

__device__ __forceinline__ float blockMax(float v, float* shared32) {
  v = warpMax(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  v = lane < warps ? shared32[lane] : -INFINITY;
  return warpMax(v);
}

template <typename T>
__global__ void softmaxKernel(T* out, const T* x, size_t H) {
  __shared__ float scratch[32];
  const T* row = x + blockIdx.x * H;
  T* dst = out + blockIdx.x * H;
  float m = -INFINITY;
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) m = fmaxf(m, toFloat(row[j]));
  m = blockMax(m, scratch);
  if (m == -INFINITY) {  // nothing to attend: zeros, as the cpu reference
    for (size_t j = threadIdx.x; j < H; j += blockDim.x) dst[j] = fromFloat<T>(0.f);
    return;
  }
  float sum = 0.f;
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) sum += expf(toFloat(row[j]) - m);
  const float inv = 1.f / blockSum(sum, scratch);
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) dst[j] = fromFloat<T>(expf(toFloat(row[j]) - m) * inv);
}

unsigned rowThreads(size_t H) {
  return H >= 2048 ? 512 : H >= 512 ? 256 : H >= 128 ? 128 : 32;
}

}  // namespace

// ==== launchers ====

std::string rmsNorm(int dtype, void* out, const void* x, const void* w, size_t rows, size_t H, float eps) {
  if (rows == 0 || H == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T,
    constexpr size_t kN = Vec16<T>::kN;
    if (vec16Fits<T>(H, {out, x, w}) && H / kN <= 1024) {
      const unsigned threads = unsigned((H / kN + 31) / 32 * 32);
      return launchDependent("cudaLaunchKernelEx (rmsNorm)", rmsNormVecKernel<T>, dim3{unsigned(rows)}, dim3{threads}, 0,
                             static_cast<T*>(out), static_cast<const T*>(x), static_cast<const T*>(w), H, eps);
    } else {
      rmsNormKernel<T><<<unsigned(rows), rowThreads(H), 0, stream()>>>(static_cast<T*>(out), static_cast<const T*>(x),
                                                                      static_cast<const T*>(w), H, eps);
    });
  return launchStatus("rmsNorm");
}

std::string layerNorm(int dtype, void* out, const void* x, const void* w, const void* b, size_t rows, size_t H,
                      float eps) {
  if (rows == 0 || H == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T,
    layerNormKernel<T><<<unsigned(rows), rowThreads(H), 0, stream()>>>(static_cast<T*>(out), static_cast<const T*>(x),
                                                                      static_cast<const T*>(w), static_cast<const T*>(b), H, eps));
  return launchStatus("layerNorm");
}

std::string softmax(int dtype, void* out, const void* x, size_t rows, size_t H) {
  if (rows == 0 || H == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T,
    softmaxKernel<T><<<unsigned(rows), rowThreads(H), 0, stream()>>>(static_cast<T*>(out), static_cast<const T*>(x), H));
  return launchStatus("softmax");
}

}  // namespace iris
