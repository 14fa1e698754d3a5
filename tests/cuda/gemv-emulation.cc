// Runs the skinny bf16 product itself (native/cuda/kernels/gemv.cu, compiled here as plain C++) on the cpu, its
// launchers included: gemv() and gemvSiluAndMul() pick the warps a row and launch through launchDependent, whose
// cudaLaunchKernelEx here runs the grid's blocks one after another in a scrambled order, each as 256 fibers (ucontext)
// switched only at barriers (__syncthreads, the shuffles of the warp sums). Checks the rows' parts, the warps' partial
// sums, rows past N, one and two tokens, the bias, and the gated form's pairing of each output's gate and up rows
// (a block's first half of warps on gate rows, its second half on the same outputs' up rows) against a float64
// reference, the gated one with gate and up rounded to bf16 before the activation as the two kernels round them; and
// the two edges of a decode layer's fusions: the norm computed in each block before the product, the residual add after.
// It cannot see races or timing: that is the GPU tests' job.
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/gemv-emulation.cc
// (tests/cuda/gemv-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#define __launch_bounds__(...)

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "iris_cuda.h"  // the launchers' declarations; cuda_runtime.h gives the vector types and qualifiers

// ==== the CUDA built-ins the kernel uses, per emulated thread ====

#include "emulation-values.h"
#include "fiber-blocks.h"

// A shuffle's slot: each lane deposits its value, waits for the warp, reads its source lane's (emulated-device.h).
struct ShuffleSlot {
  uint32_t v[32];
};
using Block = EmuBlock<ShuffleSlot, 256>;
#define IRIS_EMULATED_MULTIPROCESSORS 2
#include "emulated-device.h"

// The occupancy the launcher asks for (its one-wave rule): four blocks a multiprocessor.
#define cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, ...) (*(blocks) = 4, cudaSuccess)

#include "dependent_launch.cuh"  // launchDependent through emuLaunch; before the macros below rename gridDim

#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim
#define gridDim emuGridDim
#include "float_io.cuh"
#undef __shared__
#define __shared__ static
namespace iris {
std::string launchStatus(const char*) { return ""; }
}  // namespace iris
// The device's approximate reciprocal square root (the norm edge's), here the correctly rounded one.
inline float rsqrtf(float v) { return 1.f / std::sqrt(v); }
#include "../../native/cuda/kernels/gemv.cu"

// ==== cases ====

namespace {

using emulation::fromBf16;
using emulation::randomBf16;
using emulation::toBf16;

// The product's edges (gemv.cu): none, the norm before it (x normalized by rmsNorm), or the residual add after it.
enum Edge { kPlain, kNorm, kResidual };

struct Case {
  int T, K, N;  // N: the outputs (the gated form's weight has 2N rows)
  bool bias, gated;
  int split;  // forced warps a row, 0: the launcher's own
  Edge edge;
};

// x's rows as the NORM edge feeds them to the product: rmsNorm(x) * weight rounded to bf16 (float64 statistics here).
std::vector<uint16_t> normalized(const std::vector<uint16_t>& x, const std::vector<uint16_t>& weight, int T, int K, float eps) {
  std::vector<uint16_t> out(x.size());
  for (int t = 0; t < T; t++) {
    double ss = 0;
    for (int k = 0; k < K; k++) ss += double(fromBf16(x[size_t(t) * K + k])) * fromBf16(x[size_t(t) * K + k]);
    const double inv = 1 / std::sqrt(ss / K + eps);
    for (int k = 0; k < K; k++) out[size_t(t) * K + k] = toBf16(float(fromBf16(x[size_t(t) * K + k]) * inv * fromBf16(weight[k])));
  }
  return out;
}

double dot(const std::vector<uint16_t>& x, int t, const std::vector<uint16_t>& w, int row, int K) {
  double s = 0;
  for (int k = 0; k < K; k++) s += double(fromBf16(x[size_t(t) * K + k])) * fromBf16(w[size_t(row) * K + k]);
  return s;
}

bool runCase(const Case& c) {
  iris::setGemvSplit(c.split);
  const int rows = c.gated ? 2 * c.N : c.N;
  const std::vector<uint16_t> x = randomBf16(size_t(c.T) * c.K, -1, 1), w = randomBf16(size_t(rows) * c.K, -0.1f, 0.1f);
  const std::vector<uint16_t> bias = randomBf16(rows, -1, 1);
  const std::vector<uint16_t> normWeight = randomBf16(c.K, 0.5f, 1.5f), residual = randomBf16(size_t(c.T) * c.N, -2, 2);
  constexpr float kEps = 1e-6f;
  // NaN: a value never written shows; the residual edge adds into the stream.
  std::vector<uint16_t> out = c.edge == kResidual ? residual : std::vector<uint16_t>(size_t(c.T) * c.N, 0x7fc0);
  const void* b = c.bias ? bias.data() : nullptr;
  std::string status;
  if (c.edge == kNorm) status = iris::gemvNorm(out.data(), x.data(), normWeight.data(), kEps, w.data(), b, c.T, c.K, c.N, c.gated);
  else if (c.edge == kResidual) status = iris::gemvAddResidual(out.data(), x.data(), w.data(), b, c.T, c.K, c.N);
  else if (c.gated) status = iris::gemvSiluAndMul(out.data(), x.data(), w.data(), b, c.T, c.K, c.N);
  else status = iris::gemv(out.data(), x.data(), w.data(), b, c.T, c.K, c.N);
  const std::vector<uint16_t> input = c.edge == kNorm ? normalized(x, normWeight, c.T, c.K, kEps) : x;
  if (!status.empty()) {
    std::printf("FAIL launch: %s\n", status.c_str());
    return false;
  }
  double maxErr = 0;
  std::string firstBad;
  for (int t = 0; t < c.T; t++) {
    for (int n = 0; n < c.N; n++) {
      const double withBias = dot(input, t, w, n, c.K) + (c.bias ? fromBf16(bias[n]) : 0);
      double ref = withBias;
      if (c.gated) {
        // Gate and up as the product stores them (bf16), then the activation in float.
        const float g = fromBf16(toBf16(float(withBias)));
        const float u = fromBf16(toBf16(float(dot(input, t, w, n + c.N, c.K) + (c.bias ? fromBf16(bias[n + c.N]) : 0))));
        ref = double(g) / (1.0 + std::exp(-double(g))) * u;
      }
      // The stream plus the product as stored (bf16), as `add` after the product would leave it.
      if (c.edge == kResidual) ref = double(fromBf16(residual[size_t(t) * c.N + n])) + fromBf16(toBf16(float(withBias)));
      const double got = fromBf16(out[size_t(t) * c.N + n]), err = std::fabs(got - ref);
      if (!(err <= maxErr)) maxErr = err;
      // bf16's rounding of the output (2^-8 relative) and fp32 sums' order against float64; gated: g's and u's roundings.
      if (!(err <= 1e-3 + 8e-3 * std::fabs(ref)) && firstBad.empty()) {
        char text[160];
        std::snprintf(text, sizeof text, "  first bad: token %d output %d: %g vs %g\n", t, n, got, ref);
        firstBad = text;
      }
    }
  }
  const bool ok = firstBad.empty();
  std::printf("%s T=%d K=%d N=%d%s%s%s split=%d: max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.T, c.K, c.N, c.bias ? " bias" : "",
              c.gated ? " gated" : "", c.edge == kNorm ? " norm" : c.edge == kResidual ? " residual" : "", c.split, maxErr, firstBad.c_str());
  return ok;
}

}  // namespace

int main() {
  const std::vector<Case> cases = {
      {1, 256, 40, false, false, 0}, {2, 1024, 37, true, false, 0},  {1, 1024, 64, false, false, 1},
      {2, 512, 19, true, false, 4},  {1, 8192, 9, false, false, 0},  {2, 8200, 5, true, false, 8},
      {1, 256, 40, false, true, 0},  {2, 1024, 37, true, true, 0},   {1, 1024, 9, false, true, 1},
      {2, 512, 19, true, true, 2},   {1, 2048, 3, true, true, 4},    {2, 8192, 6, false, true, 0},
      {1, 64, 1, true, true, 0},
      // The norm edge: rows of 2,048 (256 threads, 8 values each, as addRmsNorm sums them), odd widths, gated.
      {1, 2048, 24, true, false, 0, kNorm},  {2, 2048, 13, false, false, 1, kNorm}, {1, 1000, 17, false, false, 2, kNorm},
      {2, 4096, 9, true, false, 4, kNorm},   {1, 2048, 11, true, true, 0, kNorm},   {2, 520, 6, false, true, 1, kNorm},
      // The residual edge: short and long rows, one and two tokens.
      {1, 2048, 40, false, false, 0, kResidual}, {2, 11008, 7, true, false, 0, kResidual}, {1, 256, 33, false, false, 1, kResidual},
  };
  bool ok = true;
  for (const Case& c : cases) ok &= runCase(c);
  iris::setGemvSplit(0);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
