// linearFp8 (Backend.linearFp8): out[T, N] = (x · wᵀ) * xScale[t] * wScale[n] + bias[n] with x and w in FP8 E4M3.
// At most 8 tokens (decode) the weight-streaming kernel (fp8_gemv.cu) reads each weight once and applies the scales
// itself. More tokens go to cuBLASLt's FP8 tensor-core product (gemm_lt.cc: E4M3 x E4M3, fp32 accumulation, no scales),
// written into `out` in its own dtype, then one pass here applies both scales and the bias in place: per-token and
// per-channel scales are vectors, which cuBLASLt's per-tensor scale pointers cannot express. Shapes cuBLASLt refuses
// (K not a multiple of 16, unaligned views) fall back to the streaming kernel, correct at any size. A null xScale means
// x is float (the output's dtype) and is quantized per token inside the streaming kernel (at most 4 tokens).
#include "float_io.cuh"

namespace iris {

namespace {

constexpr size_t kStreamRows = 8;

// ==== kernels ====

template <typename T>
__global__ void scaleEpilogueKernel(T* out, const float* xScale, const float* wScale, const T* bias, size_t T_, size_t N) {
  const size_t total = T_ * N;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / N, n = i % N;
    float v = toFloat(out[i]) * xScale[t] * wScale[n];
    if (bias != nullptr) v += toFloat(bias[n]);
    out[i] = fromFloat<T>(v);
  }
}

}  // namespace

// ==== launcher ====

std::string linearFp8(int outDtype, void* out, const void* x, const float* xScale, const void* w, const float* wScale,
                      const void* bias, size_t T, size_t K, size_t N) {
  if (T == 0 || N == 0) return "";
  if (K == 0) {  // an empty sum: out is the bias (or zeros)
    std::string s = fill(outDtype, out, T * N, 0.0);
    return s.empty() && bias != nullptr ? add(outDtype, out, out, bias, T * N, N) : s;
  }
  Fp8RowsArgs rows;
  rows.outDtype = outDtype;
  rows.out = out;
  rows.x = x;
  rows.xScale = xScale;
  rows.w = w;
  rows.wScale = wScale;
  rows.bias = bias;
  rows.T = T;
  rows.K = K;
  rows.N = N;
  if (xScale == nullptr) {
    rows.xDtype = outDtype;
    return fp8Rows(rows);
  }
  if (T <= kStreamRows) return fp8Rows(rows);
  if (fp8GemmLt(outDtype, out, x, w, T, K, N) != "") return fp8Rows(rows);
  IRIS_FLOAT_DISPATCH(outDtype, S, scaleEpilogueKernel<S><<<blocksFor(T * N), kThreads, 0, stream()>>>(static_cast<S*>(out), xScale,
    wScale, static_cast<const S*>(bias), T, N));
  return launchStatus("linearFp8 (scales)");
}

}  // namespace iris
