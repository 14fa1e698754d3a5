// Elementwise kernels: fill, cast, broadcast add/mul, scaleRows, SiLU-and-multiply, GELU (erf). Grid-stride loops,
// fp32 math, one rounding to the storage type at the store. add, mul and siluAndMul, which the vision tower runs
// over tens of MB, take 16-byte packs where sizes and addresses allow (vec16.cuh), with the index arithmetic done
// once a pack.
#include "dependent_launch.cuh"
#include "float_io.cuh"
#include "fp8.cuh"
#include "vec16.cuh"

namespace iris {

namespace {

// ==== kernels ====

template <typename T>
__global__ void fillKernel(T* out, size_t n, float value) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    out[i] = fromFloat<T>(value);
  }
}

// The cpu's uniformHash (src/runtime/cpu/elementwise.ts), integer for integer.
__device__ __forceinline__ float uniformHash(uint32_t seed, uint32_t index) {
  uint32_t x = (index * 0x9e3779b1u) ^ (seed * 0x85ebca6bu);
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return float(x >> 8) / 16777216.f;
}

// Dummy FP8 weights: each uniform value encoded as quantizeFp8 encodes (no scale: the caller fills the scales).
__global__ void fillUniformFp8Kernel(uint8_t* out, size_t n, uint32_t seed, float low, float high) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    out[i] = toE4m3(low + (high - low) * uniformHash(seed, uint32_t(i)));
  }
}

template <typename T>
__global__ void fillUniformKernel(T* out, size_t n, uint32_t seed, float low, float high) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    out[i] = fromFloat<T>(low + (high - low) * uniformHash(seed, uint32_t(i)));
  }
}

__global__ void fillI32Kernel(int32_t* out, size_t n, int32_t value) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) out[i] = value;
}

template <typename O, typename I>
__global__ void castKernel(O* out, const I* in, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    out[i] = fromFloat<O>(toFloat(in[i]));
  }
}

template <typename T, bool kMultiply>
__global__ void broadcastKernel(T* out, const T* a, const T* b, size_t n, size_t m) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float x = toFloat(a[i]), y = toFloat(b[i % m]);
    out[i] = fromFloat<T>(kMultiply ? x * y : x + y);
  }
}

// broadcastKernel over 16-byte packs: n and m whole packs, every pointer aligned.
template <typename T, bool kMultiply>
__global__ void broadcastVecKernel(T* out, const T* a, const T* b, size_t packs, size_t mPacks) {
  constexpr int kN = Vec16<T>::kN;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < packs; i += size_t(gridDim.x) * blockDim.x) {
    Vec16<T> x, y;
    x.load(a + i * kN);
    y.load(b + (i % mPacks) * kN);
#pragma unroll
    for (int e = 0; e < kN; e++) x.v[e] = kMultiply ? x.v[e] * y.v[e] : x.v[e] + y.v[e];
    x.store(out + i * kN);
  }
}

template <typename T>
__global__ void scaleRowsKernel(T* out, const T* x, const float* scale, size_t rows, size_t width) {
  const size_t n = rows * width;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    out[i] = fromFloat<T>(toFloat(x[i]) * scale[i / width]);
  }
}

template <typename T>
__global__ void siluAndMulKernel(T* out, const T* x, size_t rows, size_t inter) {
  waitForPrevious();  // launched as a dependent of the product that wrote x
  releaseNext();
  const size_t n = rows * inter;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / inter, j = i % inter;
    const float g = toFloat(x[t * 2 * inter + j]), u = toFloat(x[t * 2 * inter + inter + j]);
    out[i] = fromFloat<T>(siluTimes(g, u));
  }
}

// siluAndMulKernel over 16-byte packs: inter whole packs, every pointer aligned.
template <typename T>
__global__ void siluAndMulVecKernel(T* out, const T* x, size_t packs, size_t interPacks) {
  constexpr int kN = Vec16<T>::kN;
  waitForPrevious();  // launched as a dependent of the product that wrote x
  releaseNext();
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < packs; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / interPacks, j = i % interPacks;
    Vec16<T> g, u;
    g.load(x + (t * 2 * interPacks + j) * kN);
    u.load(x + (t * 2 * interPacks + interPacks + j) * kN);
#pragma unroll
    for (int e = 0; e < kN; e++) g.v[e] = siluTimes(g.v[e], u.v[e]);
    g.store(out + i * kN);
  }
}

template <typename T>
__global__ void geluKernel(T* out, const T* x, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float v = toFloat(x[i]);
    // v * Phi(v) through erfc, accurate far into the negative tail (as the cpu reference).
    out[i] = fromFloat<T>(0.5f * v * erfcf(-v * 0.70710678118654752f));
  }
}

template <typename O>
std::string castFrom(O* out, int inDtype, const void* in, size_t n) {
  IRIS_FLOAT_DISPATCH(inDtype, I, castKernel<O, I><<<blocksFor(n), kThreads, 0, stream()>>>(out, static_cast<const I*>(in), n));
  return launchStatus("cast");
}

}  // namespace

// ==== launchers ====

std::string fillUniform(int dtype, void* out, size_t n, uint32_t seed, float low, float high) {
  if (n == 0) return "";
  if (dtype == kF8E4M3) {
    fillUniformFp8Kernel<<<blocksFor(n), kThreads, 0, stream()>>>(static_cast<uint8_t*>(out), n, seed, low, high);
    return launchStatus("fillUniform (fp8)");
  }
  IRIS_FLOAT_DISPATCH(dtype, T, fillUniformKernel<T><<<blocksFor(n), kThreads, 0, stream()>>>(static_cast<T*>(out), n, seed, low, high));
  return launchStatus("fillUniform");
}

std::string fill(int dtype, void* out, size_t n, double value) {
  if (n == 0) return "";
  if (dtype == kI32) {
    fillI32Kernel<<<blocksFor(n), kThreads, 0, stream()>>>(static_cast<int32_t*>(out), n, static_cast<int32_t>(value));
    return launchStatus("fill");
  }
  IRIS_FLOAT_DISPATCH(dtype, T, fillKernel<T><<<blocksFor(n), kThreads, 0, stream()>>>(static_cast<T*>(out), n, float(value)));
  return launchStatus("fill");
}

std::string cast(int outDtype, void* out, int inDtype, const void* in, size_t n) {
  if (n == 0) return "";
  IRIS_FLOAT_DISPATCH(outDtype, O, return castFrom<O>(static_cast<O*>(out), inDtype, in, n));
  return "";
}

namespace {

template <typename T, bool kMultiply>
void launchBroadcast(void* out, const void* a, const void* b, size_t n, size_t m) {
  constexpr int kN = Vec16<T>::kN;
  if (vec16Fits<T>(m, {out, a, b})) {  // m whole packs: so is n, a multiple of m
    broadcastVecKernel<T, kMultiply><<<blocksFor(n / kN), kThreads, 0, stream()>>>(static_cast<T*>(out), static_cast<const T*>(a),
                                                                                  static_cast<const T*>(b), n / kN, m / kN);
  } else {
    broadcastKernel<T, kMultiply><<<blocksFor(n), kThreads, 0, stream()>>>(static_cast<T*>(out), static_cast<const T*>(a),
                                                                          static_cast<const T*>(b), n, m);
  }
}

}  // namespace

std::string add(int dtype, void* out, const void* a, const void* b, size_t n, size_t m) {
  if (n == 0 || m == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T, launchBroadcast<T, false>(out, a, b, n, m));
  return launchStatus("add");
}

std::string mul(int dtype, void* out, const void* a, const void* b, size_t n, size_t m) {
  if (n == 0 || m == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T, launchBroadcast<T, true>(out, a, b, n, m));
  return launchStatus("mul");
}

std::string scaleRows(int dtype, void* out, const void* x, const float* scale, size_t rows, size_t width) {
  if (rows * width == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T,
    scaleRowsKernel<T><<<blocksFor(rows * width), kThreads, 0, stream()>>>(static_cast<T*>(out), static_cast<const T*>(x),
                                                                           scale, rows, width));
  return launchStatus("scaleRows");
}

std::string siluAndMul(int dtype, void* out, const void* x, size_t rows, size_t inter) {
  if (rows * inter == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T,
    constexpr int kN = Vec16<T>::kN;
    if (vec16Fits<T>(inter, {out, x})) {
      return launchDependent("cudaLaunchKernelEx (siluAndMul)", siluAndMulVecKernel<T>, dim3{blocksFor(rows * inter / kN)},
        dim3{kThreads}, 0, static_cast<T*>(out), static_cast<const T*>(x), rows * inter / kN, inter / kN);
    }
    return launchDependent("cudaLaunchKernelEx (siluAndMul)", siluAndMulKernel<T>, dim3{blocksFor(rows * inter)},
      dim3{kThreads}, 0, static_cast<T*>(out), static_cast<const T*>(x), rows, inter));
  return "";
}

std::string gelu(int dtype, void* out, const void* x, size_t n) {
  if (n == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, T,
    geluKernel<T><<<blocksFor(n), kThreads, 0, stream()>>>(static_cast<T*>(out), static_cast<const T*>(x), n));
  return launchStatus("gelu");
}

}  // namespace iris
