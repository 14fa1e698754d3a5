// Runs decode attention on the tensor cores itself (native/cuda/kernels/attention_decode_mma.cu, compiled here as plain
// C++) on the cpu, its launcher included: attentionDecodeMma() picks the splits and launches through launchDependent,
// whose cudaLaunchKernelEx here runs the grid's blocks one after another in a scrambled order (so any split may be the
// last to arrive and merge), each as 128 fibers (ucontext) switched only at barriers: __syncthreads a block barrier,
// shuffles, ballots, ldmatrix, movmatrix and mma warp rendezvous (the PTX from the ISA's tables, ptx-emulation.h);
// cp.async copies at once; the kernel's shared memory is one array that the block running owns.
// Sixteen multiprocessors, so small batches split by the kernel's own rule and a few dozen (sequence, KV head) pairs
// do not. Checks the transposed products' fragments, the warps' tiles and two-stage pipeline, split ranges, chunked
// masks, page gathers (scrambled pages, pages of 1, 3, 8, 16 and 32, absent pages and slots past the cache), the
// online softmax, the warps' combine and the splits' merge against a float64 reference. It cannot see races or
// timing: that is the GPU tests' job.
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/attention-decode-mma-emulation.cc
// (tests/cuda/attention-decode-mma-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#define __launch_bounds__(...)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "iris_cuda.h"  // AttentionArgs; cuda_runtime.h gives the vector types and the qualifiers as host attributes
#include "ptx-emulation.h"

// ==== the CUDA built-ins the kernel uses, per emulated thread ====

#include "emulation-values.h"
#include "fiber-blocks.h"

// A warp collective's operands and results, a row a lane (the last lane to arrive computes the warp's result).
struct Slot {
  uint32_t v[32];
  const uint16_t* rows[32];
  uint32_t a[32][4], b[32][2], out[32][4];
  float c[32][4];
};
using Block = EmuBlock<Slot>;
#define IRIS_EMULATED_MULTIPROCESSORS 16
#define IRIS_EMULATED_DYNAMIC_SHARED (72 * 1024)
#include "emulated-device.h"
#include "emulated-tensor-cores.h"

// The host side's device calls beyond the launch.
void* emuMalloc(size_t bytes) { return std::calloc(1, bytes); }
#define cudaMalloc(ptr, bytes) (*(ptr) = emuMalloc(bytes), cudaSuccess)
#define cudaMemsetAsync(ptr, value, bytes, stream) (std::memset(ptr, value, bytes), cudaSuccess)
#define cudaFuncSetAttribute(...) cudaSuccess

#include "dependent_launch.cuh"  // launchDependent through emuLaunch; before the macros below rename gridDim
#include "mma_frag.cuh"

#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim
#define gridDim emuGridDim
#include "float_io.cuh"
namespace iris {
namespace {
alignas(16) unsigned char decodeMmaShared[IRIS_EMULATED_DYNAMIC_SHARED];  // the kernel's only shared memory
}  // namespace
}  // namespace iris
#include "../../native/cuda/kernels/attention_decode_mma.cu"

// ==== cases ====

namespace {

using emulation::fromBf16;
using emulation::randomBf16;

struct Case {
  const char* name;
  std::vector<int> kvLens;  // one query a sequence, at the last position
  int Hq, Hk, D, pageSize, chunk;
  int launchKvLen;  // the launch bound (the engine's: the context length); 0: the longest of kvLens
  int splits;       // forced splits, 0: the kernel's own
  bool holes = false;  // sequence 0's second page absent (-1) and slots from the last key of the last sequence on past
                       // numSlots
};

bool runCase(const Case& c) {
  const int S = int(c.kvLens.size()), D = c.D;
  std::vector<int> starts{0};
  for (int s = 0; s < S; s++) starts.push_back(s + 1);
  // Every slot holds random keys, absent ones too (they must not count).
  emulation::ScrambledPages pages = emulation::scrambledPages(c.kvLens, c.pageSize);
  const int maxPages = pages.maxPages, numPages = pages.numPages;
  std::vector<int>& table = pages.table;
  const int keyRows = numPages * c.pageSize;
  int numSlots = keyRows;
  if (c.holes) {  // sequence 0's second page absent; the cache ends inside the last sequence's last page
    table[1] = -1;
    const int last = S - 1, lastLen = c.kvLens[last];
    numSlots = table[size_t(last) * maxPages + (lastLen - 1) / c.pageSize] * c.pageSize + (lastLen - 1) % c.pageSize;
  }
  const std::vector<uint16_t> q = randomBf16(size_t(S) * c.Hq * D, -2, 2);
  const std::vector<uint16_t> k = randomBf16(size_t(keyRows) * c.Hk * D, -2, 2);
  const std::vector<uint16_t> v = randomBf16(size_t(keyRows) * c.Hk * D, -1, 1);
  std::vector<uint16_t> out(size_t(S) * c.Hq * D, 0x7fc0);  // NaN: rows never written show
  int maxKv = c.launchKvLen;
  for (int n : c.kvLens) maxKv = std::max(maxKv, n);

  iris::AttentionArgs a;
  a.dtype = iris::kBF16;
  a.out = out.data();
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.queryStart = starts.data();
  a.kvLens = c.kvLens.data();
  a.pageTable = table.data();
  a.tokens = S;
  a.S = S;
  a.Hq = c.Hq;
  a.Hk = c.Hk;
  a.D = D;
  a.maxPages = maxPages;
  a.pageSize = c.pageSize;
  a.numSlots = numSlots;
  a.maxQueryLen = 1;
  a.maxKvLen = maxKv;
  a.scale = 1.f / std::sqrt(float(D));
  a.causal = true;
  a.chunkSize = c.chunk;
  a.paged = true;
  a.forceSplits = c.splits;
  if (!iris::attentionDecodeMmaApplies(a)) {
    std::printf("FAIL %s: the tensor-core decode kernel does not take it\n", c.name);
    return false;
  }
  const std::string status = iris::attentionDecodeMma(a);
  if (!status.empty()) {
    std::printf("FAIL %s: %s\n", c.name, status.c_str());
    return false;
  }

  // float64 reference over the same bf16 values, absent keys left out (none at all: zeros). Tolerance: the kernel
  // rounds P to bf16 for P V (bf16's unit roundoff is 2^-8: relative error <= 2^-8 a probability, so at most
  // 2^-8 max|v| = 2^-8 in an output, as the probabilities over l sum to 1) and the output to bf16 (<= 2^-8 |out|);
  // scores and sums are fp32 (relative ~1e-6 on scores below ~10, exp2f within a few ulp). So an element's error is
  // at most 2^-8 (1 + |ref|) + 1e-4, a worst case (P's roundings have both signs and mostly cancel: the observed
  // maxima are ~3e-3, the relative L2 ~2e-3, checked at 4e-3).
  double diff = 0, norm = 0, maxErr = 0;
  std::string firstBad;
  const int group = c.Hq / c.Hk;
  for (int s = 0; s < S; s++) {
    const int pos = c.kvLens[s] - 1, lo = c.chunk > 0 ? pos - pos % c.chunk : 0, hi = pos + 1;
    auto keyRow = [&](int p) {
      const int page = table[size_t(s) * maxPages + p / c.pageSize];
      const long long slot = (long long)page * c.pageSize + p % c.pageSize;
      return page >= 0 && slot < numSlots ? int(slot) : -1;
    };
    for (int h = 0; h < c.Hq; h++) {
      const int kv = h / group;
      std::vector<double> w;
      std::vector<int> rows;
      double mx = -INFINITY, sum = 0;
      for (int p = lo; p < hi; p++) {
        if (keyRow(p) < 0) continue;
        double dot = 0;
        for (int d = 0; d < D; d++)
          dot += double(fromBf16(q[(size_t(s) * c.Hq + h) * D + d])) * fromBf16(k[(size_t(keyRow(p)) * c.Hk + kv) * D + d]);
        w.push_back(dot * a.scale);
        rows.push_back(keyRow(p));
        mx = std::max(mx, w.back());
      }
      for (double& x : w) sum += (x = std::exp(x - mx));
      for (int d = 0; d < D; d++) {
        double ref = 0;
        for (size_t j = 0; j < w.size(); j++) ref += w[j] / sum * fromBf16(v[(size_t(rows[j]) * c.Hk + kv) * D + d]);
        const size_t idx = (size_t(s) * c.Hq + h) * D + d;
        const double got = fromBf16(out[idx]), err = std::fabs(got - ref);
        diff += err * err;
        norm += ref * ref;
        if (!(err <= maxErr)) maxErr = err;
        if (!(err <= std::ldexp(1.0, -8) * (1 + std::fabs(ref)) + 1e-4) && firstBad.empty()) {
          char text[160];
          std::snprintf(text, sizeof text, "  first bad: sequence %d head %d dim %d: %g vs %g\n", s, h, d, got, ref);
          firstBad = text;
        }
      }
    }
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-30));
  const bool ok = rel <= 4e-3 && firstBad.empty();
  std::printf("%s %s: relative L2 %.2e, max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.name, rel, maxErr, firstBad.c_str());
  return ok;
}

}  // namespace

int main() {
  // Sixteen multiprocessors: the kernel's own rule splits while S x Hk < 48 (at most 48 / (S x Hk) splits).
  const std::vector<Case> cases = {
      {"G=8 D=128, lengths 1 31 400 1000, launched for 4096 (own splits: 6)", {1, 31, 400, 1000}, 16, 2, 128, 16, 0, 4096, 0},
      {"G=8 D=128, batch 1, 400 keys (own splits: 24, 7 hold keys)", {400}, 16, 2, 128, 16, 0, 4096, 0},
      {"G=8 D=128, forced 1 split (1000 keys in one block)", {1, 400, 129, 1000}, 16, 2, 128, 16, 0, 4096, 1},
      {"G=8 D=128, forced 3 splits", {1, 400, 129, 1000}, 16, 2, 128, 16, 0, 4096, 3},
      {"G=8 D=128, forced 32 splits", {1, 400, 129, 2100}, 16, 2, 128, 16, 0, 4096, 32},
      {"G=8 D=128, absent page and slots past the cache", {200, 45}, 16, 2, 128, 16, 0, 0, 0, true},
      {"G=5 D=128 (Scout), 32 pairs: one split", {31, 600, 1, 400}, 40, 8, 128, 16, 0, 4096, 0},
      {"G=5 D=128 chunked 512", {1100, 513, 100, 31}, 20, 4, 128, 16, 512, 16384, 0},
      {"G=5 D=128 chunked 128, forced 4 splits", {700, 129, 128, 1}, 10, 2, 128, 16, 128, 0, 4},
      {"G=4 D=128, pages of 32", {77, 300, 16, 17}, 8, 2, 128, 32, 0, 4096, 0},
      {"G=4 D=128, pages of 3", {50, 7, 161}, 8, 2, 128, 3, 0, 0, 2},
      {"G=8 D=64, forced 5 splits", {1000, 1, 31, 400}, 16, 2, 64, 16, 0, 0, 5},
      {"G=5 D=64 chunked 64, launched for the longest", {400, 1, 129, 65, 1000}, 5, 1, 64, 16, 64, 0, 0},
      {"G=1 D=128, pages of 8", {1000, 31}, 2, 2, 128, 8, 0, 0, 0},
      {"G=3 D=64, pages of 1", {40, 3}, 6, 2, 64, 1, 0, 0, 0},
  };
  bool ok = true;
  for (const Case& c : cases) ok &= runCase(c);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
