// Rotary position embedding: the cos/sin tables (1-D, M-RoPE and 2-D vision through `section`) and their
// application in place, neox (rotate_half) or interleaved (complex pairs). Tables are F32 as the contract says.
#include "float_io.cuh"

namespace iris {

namespace {

// ==== kernels ====

__global__ void ropeCosSinKernel(float* cosOut, float* sinOut, const int32_t* positions, const float* invFreq,
                                 const int32_t* section, size_t T, size_t P, size_t R) {
  const size_t n = T * R;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / R, j = i % R;
    const size_t p = section == nullptr ? 0 : size_t(section[j]);
    // NOTE: the angle is the fp32 product, as torch forms it; cos and sin of it in double, then rounded once.
    const float angle = float(positions[t * P + p]) * invFreq[j];
    cosOut[i] = float(cos(double(angle)));
    sinOut[i] = float(sin(double(angle)));
  }
}

template <typename T>
__global__ void rotaryKernel(T* x, const float* cosTab, const float* sinTab, size_t T_, size_t heads, size_t D, size_t R,
                             bool interleaved) {
  const size_t n = T_ * heads * R;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t j = i % R, th = i / R, t = th / heads;
    T* base = x + th * D;
    const float c = cosTab[t * R + j], s = sinTab[t * R + j];
    const size_t a = interleaved ? 2 * j : j, b = interleaved ? 2 * j + 1 : j + R;
    const float x1 = toFloat(base[a]), x2 = toFloat(base[b]);
    base[a] = fromFloat<T>(x1 * c - x2 * s);
    base[b] = fromFloat<T>(x2 * c + x1 * s);
  }
}

}  // namespace

// ==== launchers ====

std::string ropeCosSin(float* cos, float* sin, const int32_t* positions, const float* invFreq, const int32_t* section,
                       size_t T, size_t P, size_t R) {
  if (T * R == 0) return "";
  ropeCosSinKernel<<<blocksFor(T * R), kThreads, 0, stream()>>>(cos, sin, positions, invFreq, section, T, P, R);
  return launchStatus("ropeCosSin");
}

std::string applyRotary(int dtype, void* x, const float* cos, const float* sin, size_t T, size_t heads, size_t D,
                        size_t R, bool interleaved) {
  if (T * heads * R == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, E,
    rotaryKernel<E><<<blocksFor(T * heads * R), kThreads, 0, stream()>>>(static_cast<E*>(x), cos, sin, T, heads, D, R, interleaved));
  return launchStatus("applyRotary");
}

}  // namespace iris
