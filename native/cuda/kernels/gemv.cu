// Skinny matrix products for decode: out[T, N] = x[T, K] · w[N, K]ᵀ (+ bias) with T <= 8 rows, bf16. Such a product
// is a stream of the weights (T*K is tiny), so it runs at the speed the weights arrive: one warp per weight row,
// each lane reading 16-byte chunks with streaming loads (the weights are read once; keep them out of L1), all of a
// lane's loads in a batch issued before the first is used. x stays in L1/L2, read by every warp. fp32 sums, one
// warp reduction per output. cuBLASLt keeps every other shape (prefill).
#include <cstdint>

#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kGemvWarps = 4;
constexpr int kBatch = 8;  // 16-byte loads in flight per lane before the first use

__device__ __forceinline__ void accumulate8(float& acc, const uint4& w, const uint4& x) {
  const __nv_bfloat162* wp = reinterpret_cast<const __nv_bfloat162*>(&w);
  const __nv_bfloat162* xp = reinterpret_cast<const __nv_bfloat162*>(&x);
#pragma unroll
  for (int e = 0; e < 4; e++) {
    const float2 wf = __bfloat1622float2(wp[e]), xf = __bfloat1622float2(xp[e]);
    acc = fmaf(wf.x, xf.x, acc);
    acc = fmaf(wf.y, xf.y, acc);
  }
}

// ==== kernels ====

template <int T>
__global__ void __launch_bounds__(kGemvWarps * 32) gemvKernel(__nv_bfloat16* out, const __nv_bfloat16* x,
    const __nv_bfloat16* w, const __nv_bfloat16* bias, int K, int N) {
  const int n = blockIdx.x * kGemvWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (n >= N) return;
  const uint4* row = reinterpret_cast<const uint4*>(w + size_t(n) * K);
  const uint4* xs = reinterpret_cast<const uint4*>(x);
  const int chunks = K / 8;
  float acc[T];
#pragma unroll
  for (int t = 0; t < T; t++) acc[t] = 0.f;
  for (int base = lane; base < chunks; base += 32 * kBatch) {
    uint4 wv[kBatch];
#pragma unroll
    for (int b = 0; b < kBatch; b++) {
      const int c = base + b * 32;
      wv[b] = c < chunks ? __ldcs(row + c) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int b = 0; b < kBatch; b++) {
      const int c = base + b * 32;
      if (c >= chunks) break;
#pragma unroll
      for (int t = 0; t < T; t++) accumulate8(acc[t], wv[b], __ldg(xs + size_t(t) * chunks + c));
    }
  }
#pragma unroll
  for (int t = 0; t < T; t++) {
    const float sum = warpSum(acc[t]);
    if (lane == 0) out[size_t(t) * N + n] = __float2bfloat16_rn(bias == nullptr ? sum : sum + __bfloat162float(bias[n]));
  }
}

template <int T>
void launchGemv(void* out, const void* x, const void* w, const void* bias, int K, int N) {
  const unsigned blocks = unsigned((N + kGemvWarps - 1) / kGemvWarps);
  gemvKernel<T><<<blocks, kGemvWarps * 32, 0, stream()>>>(static_cast<__nv_bfloat16*>(out), static_cast<const __nv_bfloat16*>(x),
    static_cast<const __nv_bfloat16*>(w), static_cast<const __nv_bfloat16*>(bias), K, N);
}

}  // namespace

// ==== launcher ====

bool gemvApplies(int dtype, const void* out, const void* x, const void* w, size_t T, size_t K) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(w);
  (void)out;
  // Measured on an H200 (bench/results/cuda-kernels.md): ahead of cuBLASLt at T = 1 for K <= 4096 (qkv, gate|up,
  // the lm head), behind it for K = 11008 (too few warps stream too long a row) and at T = 8 (x re-read per row).
  return dtype == kBF16 && T >= 1 && T <= 2 && K % 8 == 0 && K > 0 && K <= 4096 && bits % 16 == 0;
}

std::string gemv(void* out, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t N) {
  switch (T) {
    case 1: launchGemv<1>(out, x, w, bias, int(K), int(N)); break;
    case 2: launchGemv<2>(out, x, w, bias, int(K), int(N)); break;
    case 3: launchGemv<3>(out, x, w, bias, int(K), int(N)); break;
    case 4: launchGemv<4>(out, x, w, bias, int(K), int(N)); break;
    case 5: launchGemv<5>(out, x, w, bias, int(K), int(N)); break;
    case 6: launchGemv<6>(out, x, w, bias, int(K), int(N)); break;
    case 7: launchGemv<7>(out, x, w, bias, int(K), int(N)); break;
    default: launchGemv<8>(out, x, w, bias, int(K), int(N)); break;
  }
  return launchStatus("linear (gemv)");
}

}  // namespace iris
