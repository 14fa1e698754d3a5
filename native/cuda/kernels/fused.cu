// Fused kernels for the decoder's step, each replacing launches the contract's kernels need separately:
// - addRmsNorm: residual += x, then out = rmsNorm(residual) * weight (the add's bf16 rounding kept, so the result
//   equals add then rmsNorm), one pass instead of two kernels and a round trip of the residual.
// - rotaryStoreKV: from the fused q|k|v projection [T, (Hq + 2 Hk) D], writes rotated q [T, Hq, D] and stores the
//   rotated k and the v rows straight into the paged caches (slot < 0: padding, skipped), replacing three column
//   slices, two rotary kernels and the KV store.
#include "float_io.cuh"

namespace iris {

namespace {

// ==== kernels ====

template <typename T>
__global__ void addRmsNormKernel(T* out, T* residual, const T* x, const T* w, size_t H, float eps) {
  __shared__ float scratch[32];
  T* res = residual + blockIdx.x * H;
  const T* row = x + blockIdx.x * H;
  T* dst = out + blockIdx.x * H;
  float ss = 0.f;
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
    const T sum = fromFloat<T>(toFloat(res[j]) + toFloat(row[j]));  // rounded as the unfused add stores it
    res[j] = sum;
    const float v = toFloat(sum);
    ss += v * v;
  }
  const float inv = rsqrtf(blockSum(ss, scratch) / float(H) + eps);
  for (size_t j = threadIdx.x; j < H; j += blockDim.x) {
    const float v = toFloat(res[j]) * inv;  // this thread's own writes above: no barrier needed
    dst[j] = fromFloat<T>(w == nullptr ? v : v * toFloat(w[j]));
  }
}

// One block per token; threads cover the token's heads × rotation pairs (q and k) and its v elements.
template <typename T>
__global__ void rotaryStoreKVKernel(T* q, T* kCache, T* vCache, const T* qkv, const float* cosTab, const float* sinTab,
                                    const int32_t* slots, int Hq, int Hk, int D, int R, bool interleaved, size_t numSlots) {
  const int t = blockIdx.x;
  const T* src = qkv + size_t(t) * (Hq + 2 * Hk) * D;
  const int32_t slot = slots[t];
  const bool store = slot >= 0 && size_t(slot) < numSlots;
  const float* c = cosTab + size_t(t) * R;
  const float* s = sinTab + size_t(t) * R;
  // q and k heads: each thread takes (head, d) for d in [0, D); rotated dims in pairs, the rest copied.
  for (int idx = threadIdx.x; idx < (Hq + Hk) * D; idx += blockDim.x) {
    const int head = idx / D, d = idx % D;
    const T* in = src + head * D;
    float value = toFloat(in[d]);
    if (d < 2 * R) {
      const int j = interleaved ? d / 2 : (d < R ? d : d - R);
      const int other = interleaved ? (d ^ 1) : (d < R ? d + R : d - R);
      const bool first = interleaved ? (d % 2 == 0) : (d < R);
      const float o = toFloat(in[other]);
      value = first ? value * c[j] - o * s[j] : value * c[j] + o * s[j];
    }
    if (head < Hq) {
      q[(size_t(t) * Hq + head) * D + d] = fromFloat<T>(value);
    } else if (store) {
      kCache[(size_t(slot) * Hk + (head - Hq)) * D + d] = fromFloat<T>(value);
    }
  }
  if (!store) return;
  for (int idx = threadIdx.x; idx < Hk * D; idx += blockDim.x) {
    vCache[size_t(slot) * Hk * D + idx] = src[(Hq + Hk) * D + idx];
  }
}

}  // namespace

// ==== launchers ====

std::string addRmsNorm(int dtype, void* out, void* residual, const void* x, const void* w, size_t rows, size_t H, float eps) {
  if (rows == 0 || H == 0) return "";
  const unsigned threads = H >= 2048 ? 512 : H >= 512 ? 256 : H >= 128 ? 128 : 32;
  IRIS_FLOAT_DISPATCH(dtype, T,
    addRmsNormKernel<T><<<unsigned(rows), threads, 0, stream()>>>(static_cast<T*>(out), static_cast<T*>(residual),
      static_cast<const T*>(x), static_cast<const T*>(w), H, eps));
  return launchStatus("addRmsNorm");
}

std::string rotaryStoreKV(int dtype, void* q, void* kCache, void* vCache, const void* qkv, const float* cos,
                          const float* sin, const int32_t* slots, size_t T, int Hq, int Hk, int D, int R,
                          bool interleaved, size_t numSlots) {
  if (T == 0) return "";
  IRIS_FLOAT_DISPATCH(dtype, E,
    rotaryStoreKVKernel<E><<<unsigned(T), 256, 0, stream()>>>(static_cast<E*>(q), static_cast<E*>(kCache),
      static_cast<E*>(vCache), static_cast<const E*>(qkv), cos, sin, slots, Hq, Hk, D, R, interleaved, numSlots));
  return launchStatus("rotaryStoreKV");
}

}  // namespace iris
