// Runs the experts' tensor-core FP8 product itself (native/cuda/kernels/fp8_grouped_mma.cu, compiled here as plain
// C++) on the cpu: one fiber (ucontext) per thread of a block, switched only at barriers, __syncthreads a block
// barrier, ldmatrix and mma.m16n8k32 (E4M3) warp rendezvous emulated from the PTX ISA's tables (ptx-emulation.h);
// cp.async copies at once. The grid is the kernel's own (groupedMmaGrid), every block of it run. Checks the tile
// search over the offsets (experts of 0 and 1 tokens, counts past and short of a tile, a grid filled exactly), the
// zero-filled tails (channels past N, tokens past a tile's, K not a multiple of a stage or of 32), the fragment maps
// and the epilogue (both scales, rows in expert order or scattered through rowMap, F32, bf16 and F16) against a
// float64 product of the same bytes, and the shapes it refuses. Weights of experts without tokens are NaN bytes: a
// read of them would show. It cannot see races or timing (the copies are synchronous), nor the tensor cores' shorter
// accumulator: that is the GPU tests' job.
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/fp8-grouped-mma-emulation.cc
// (tests/cuda/fp8-grouped-mma-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#define __launch_bounds__(...)
#define IRIS_FP8_MMA_EMULATION

#include <cmath>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "iris_cuda.h"  // Fp8RowsArgs; cuda_runtime.h gives the vector types and the qualifiers as host attributes
#include "ptx-emulation.h"

// ==== the CUDA built-ins the kernel uses, per emulated thread ====

#include "emulation-values.h"
#include "fiber-blocks.h"

#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim

// A warp collective's operands and results, a row a lane (fiber-blocks.h's EmuBlock: the last lane to arrive computes
// the whole warp's result).
struct Slot {
  const uint16_t* rows[32];
  uint32_t a[32][4], b[32][2], out[32][4];
  float c[32][4];
};
constexpr int kBlockThreads = 256;
using Block = EmuBlock<Slot, kBlockThreads>;
Block* emuBlock = nullptr;

inline void __syncthreads() { emuBlock->bar.wait(); }
// float_io.cuh's warp reductions name it; this kernel never shuffles.
inline float __shfl_xor_sync(unsigned, float, int) { std::abort(); }

namespace iris {
inline int min(int a, int b) { return a < b ? a : b; }
}  // namespace iris

#include "float_io.cuh"
#include "mma_frag.cuh"

#include "emulated-tensor-cores.h"  // ldmatrix (b16 pairs: here four E4M3 bytes a register), mma, cp.async

namespace iris {
namespace {
alignas(16) unsigned char smemRaw[3 * (128 + 64) * 144];
}  // namespace
}  // namespace iris

#include "../../native/cuda/kernels/fp8_grouped_mma.cu"

// ==== cases ====

namespace {

using ptxemu::e4m3ToFloat;

// Launches the kernel's own grid, one block at a time, 256 fibers a block.
template <typename OutT>
void runGrid(const iris::Fp8RowsArgs& g) {
  static const iris::Fp8RowsArgs* args;
  args = &g;
  const dim3 grid = iris::groupedMmaGrid(g);
  emuBlockDim = {kBlockThreads, 1, 1};
  runBlocks(blocksInOrder({grid.x, grid.y, 1}), emuBlock, [] { iris::fp8GroupedMmaKernel<OutT>(*args); });
}

// A random E4M3 byte, any of the 254 that are not NaN (subnormals, both zeros and ±448 included).
uint8_t randomE4m3() {
  for (;;) {
    const uint8_t b = uint8_t(emulation::uniform() * 256.f);
    if ((b & 0x7f) != 0x7f) return b;
  }
}

double outValue(float v) { return v; }
double outValue(__nv_bfloat16 v) { return __bfloat162float(v); }
double outValue(__half v) { return __half2float(v); }
// The relative step of each output type's rounding.
double roundingOf(float) { return 0x1p-24; }
double roundingOf(__nv_bfloat16) { return 0x1p-8; }
double roundingOf(__half) { return 0x1p-11; }

struct Case {
  const char* name;
  std::vector<int> counts;  // tokens of each expert, in expert order
  int K, N;
  bool scatter;  // rows back to token order through a permutation (down's product), else in expert order (gate|up's)
};

template <typename OutT>
bool runCase(const Case& c, const char* outName) {
  const int E = int(c.counts.size()), K = c.K, N = c.N;
  std::vector<int32_t> offsets{0};
  for (int n : c.counts) offsets.push_back(offsets.back() + n);
  const int T = offsets.back();
  std::vector<uint8_t> w(size_t(E) * N * K), x(size_t(T) * K);
  for (int e = 0; e < E; e++) {
    for (size_t i = size_t(e) * N * K; i < size_t(e + 1) * N * K; i++) w[i] = c.counts[e] > 0 ? randomE4m3() : 0x7f;
  }
  for (auto& b : x) b = randomE4m3();
  std::vector<float> wScale(size_t(E) * N), xScale(T);
  for (auto& s : wScale) s = (0.5f + emulation::uniform()) * 1e-3f;
  for (auto& s : xScale) s = (0.5f + emulation::uniform()) * 1e-2f;
  std::vector<int32_t> rowMap(T);
  for (int p = 0; p < T; p++) rowMap[p] = p;
  if (c.scatter) {
    for (int p = T - 1; p > 0; p--) std::swap(rowMap[p], rowMap[int(emulation::uniform() * float(p + 1)) % (p + 1)]);
  }
  std::vector<OutT> out(size_t(T) * N, iris::fromFloat<OutT>(NAN));  // rows never written show

  iris::Fp8RowsArgs g;
  g.outDtype = std::is_same_v<OutT, float> ? iris::kF32 : std::is_same_v<OutT, __half> ? iris::kF16 : iris::kBF16;
  g.out = out.data();
  g.x = x.data();
  g.xScale = xScale.data();
  g.w = w.data();
  g.wScale = wScale.data();
  g.offsets = offsets.data();
  g.rowMap = c.scatter ? rowMap.data() : nullptr;
  g.T = T;
  g.K = K;
  g.N = N;
  g.E = E;
  const std::string refusal = iris::groupedMmaRefusal(g);
  if (!refusal.empty()) {
    std::printf("FAIL %s (%s): refused: %s\n", c.name, outName, refusal.c_str());
    return false;
  }
  runGrid<OutT>(g);

  // float64 over the same bytes; each output may be off by its type's rounding plus fp32's along the sum.
  double diff = 0, norm = 0, maxErr = 0;
  std::string firstBad;
  for (int e = 0; e < E; e++) {
    for (int p = offsets[e]; p < offsets[e + 1]; p++) {
      for (int n = 0; n < N; n++) {
        double sum = 0, magnitude = 0;
        for (int k = 0; k < K; k++) {
          const double term = double(e4m3ToFloat(x[size_t(p) * K + k])) * e4m3ToFloat(w[(size_t(e) * N + n) * K + k]);
          sum += term;
          magnitude += std::fabs(term);
        }
        const double scales = double(xScale[p]) * wScale[size_t(e) * N + n];
        const double ref = sum * scales, got = outValue(out[size_t(rowMap[p]) * N + n]), err = std::fabs(got - ref);
        diff += err * err;
        norm += ref * ref;
        if (!(err <= maxErr)) maxErr = err;
        if (!(err <= roundingOf(OutT{}) * std::fabs(ref) + 1e-5 * magnitude * scales) && firstBad.empty()) {
          char text[160];
          std::snprintf(text, sizeof text, "  first bad: expert %d row %d channel %d: %g vs %g\n", e, p, n, got, ref);
          firstBad = text;
        }
      }
    }
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-30));
  const bool ok = firstBad.empty();
  std::printf("%s %s (%s, T=%d K=%d N=%d): relative L2 %.2e, max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.name, outName, T, K, N,
              rel, maxErr, firstBad.c_str());
  return ok;
}

// The decoder the reference and the emulated mma share, against values src/core/fp8.ts documents.
bool checkDecoder() {
  const std::pair<uint8_t, float> known[] = {{0x00, 0.f},   {0x80, -0.f},       {0x01, 0x1p-9f}, {0x07, 7 * 0x1p-9f}, {0x08, 0x1p-6f},
                                             {0x38, 1.f},   {0xb8, -1.f},       {0x3c, 1.5f},    {0x7e, 448.f},       {0xfe, -448.f},
                                             {0x40, 2.f},   {0x31, 0.5625f}};
  bool ok = true;
  for (const auto& [byte, value] : known) ok &= e4m3ToFloat(byte) == value;
  ok &= std::isnan(e4m3ToFloat(0x7f)) && std::isnan(e4m3ToFloat(0xff));
  std::printf("%s E4M3 decoding\n", ok ? "ok  " : "FAIL");
  return ok;
}

// Shapes the tiles cannot take are refused, so fp8_moe.cu keeps them on the streaming kernel.
bool checkRefusals() {
  alignas(16) static uint8_t bytes[64];
  static const int32_t offsets[2] = {0, 1};
  iris::Fp8RowsArgs g;
  g.outDtype = iris::kF32;
  g.x = bytes;
  g.w = bytes;
  g.offsets = offsets;
  g.T = 1;
  g.K = 32;
  g.N = 16;
  g.E = 1;
  bool ok = iris::groupedMmaRefusal(g).empty();
  iris::Fp8RowsArgs odd = g;
  odd.K = 40;  // rows of 16-byte chunks only
  ok &= !iris::groupedMmaRefusal(odd).empty();
  odd = g;
  odd.x = bytes + 8;
  ok &= !iris::groupedMmaRefusal(odd).empty();
  odd = g;
  odd.offsets = nullptr;  // a plain product: cuBLASLt's
  ok &= !iris::groupedMmaRefusal(odd).empty();
  odd = g;
  odd.xDtype = iris::kBF16;  // a float x: decode's quantizing kernel
  ok &= !iris::groupedMmaRefusal(odd).empty();
  std::printf("%s refusals (K not a multiple of 16, unaligned x, no offsets, a float x)\n", ok ? "ok  " : "FAIL");
  return ok;
}

}  // namespace

int main() {
  bool ok = checkDecoder() && checkRefusals();
  std::vector<int> sixteen(16, 0);  // 300 tokens over 16 experts, routed at random
  for (int t = 0; t < 300; t++) sixteen[int(emulation::uniform() * 16.f) % 16]++;
  const Case cases[] = {
      {"experts of 0, 1, 70, 13 and 64 tokens; K past two stages, not a multiple of 32; N past a channel tile",
       {0, 1, 70, 13, 64}, 272, 200, false},
      {"the same counts scattered to token order", {0, 1, 70, 13, 64}, 256, 136, true},
      {"one expert of 130 tokens (three token tiles)", {130}, 128, 128, true},
      {"1, 64 and 65 tokens: every block of the grid has a tile", {1, 64, 65}, 64, 48, false},
      {"16 experts, 300 tokens routed at random", sixteen, 160, 72, true},
      {"experts without tokens at both ends; K under one stage", {0, 0, 5, 0, 9, 0}, 48, 40, false},
  };
  for (const Case& c : cases) ok &= runCase<float>(c, "F32");
  ok &= runCase<__nv_bfloat16>(cases[0], "bf16");
  ok &= runCase<__nv_bfloat16>(cases[4], "bf16");
  ok &= runCase<__half>(cases[1], "F16");
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
