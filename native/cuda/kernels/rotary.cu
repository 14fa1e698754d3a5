// Rotary position embedding: the cos/sin tables (1-D, M-RoPE and 2-D vision through `section`) and their
// application in place, neox (rotate_half) or interleaved (complex pairs), whose kernels are rotary_apply.cuh's.
// Tables are F32 as the contract says.
#include "float_io.cuh"
#include "rotary_apply.cuh"

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

}  // namespace

// ==== launchers ====

std::string ropeCosSin(float* cos, float* sin, const int32_t* positions, const float* invFreq, const int32_t* section,
                       size_t T, size_t P, size_t R) {
  if (T * R == 0) return "";
  ropeCosSinKernel<<<blocksFor(T * R), kThreads, 0, stream()>>>(cos, sin, positions, invFreq, section, T, P, R);
  return launchStatus("ropeCosSin");
}

std::string applyRotary(int dtype, void* x, void* y, const float* cos, const float* sin, size_t T, size_t headsX,
                        size_t headsY, size_t D, size_t R, bool interleaved) {
  return applyRotaryRows(dtype, x, y, cos, sin, T, headsX, headsY, D, R, interleaved, headsX * D, headsY * D);
}

std::string applyRotaryRows(int dtype, void* x, void* y, const float* cos, const float* sin, size_t T, size_t headsX,
                            size_t headsY, size_t D, size_t R, bool interleaved, size_t xRow, size_t yRow) {
  if (y == nullptr) headsY = 0;
  const size_t heads = headsX + headsY;
  if (T * heads * R == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, E, {
    E* ex = static_cast<E*>(x);
    E* ey = static_cast<E*>(y);
    const size_t most = headsX > headsY ? headsX : headsY;
    if (rotaryVec16Fits<E>(x, y, cos, sin, T, most, D, R, interleaved, xRow, yRow)) {
      const size_t n = T * most * ((interleaved ? 2 * R : R) / Vec16<E>::kN);
      const auto kernel = interleaved ? rotaryVec16Kernel<E, true> : rotaryVec16Kernel<E, false>;
      kernel<<<blocksFor(n), kThreads, 0, stream()>>>(ex, ey, cos, sin, uint32_t(T), uint32_t(headsX), uint32_t(headsY),
                                                      uint32_t(D), uint32_t(R), uint32_t(xRow), uint32_t(yRow));
    } else {
      rotaryKernel<E><<<blocksFor(T * heads * R), kThreads, 0, stream()>>>(ex, ey, cos, sin, T, headsX, headsY, D, R,
                                                                           interleaved, xRow, yRow);
    }
  });
  return launchStatus("applyRotary");
}

}  // namespace iris
