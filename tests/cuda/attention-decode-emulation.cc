// Runs the decode attention kernel itself (native/cuda/kernels/attention_decode.cu, compiled here as plain C++) on the
// cpu, host side included: attentionDecode() picks parts, lanes a key and splits and launches through
// launchDependent, whose cudaLaunchKernelEx here runs the grid's blocks one after another (in a scrambled order, so
// any split may be the last to arrive and merge), each as 128 fibers (ucontext) switched only at barriers:
// __syncthreads a block barrier, __syncwarp and the shuffles warp rendezvous; __shared__ arrays are the kernel
// instance's statics (one block at a time holds them). Checks the lanes of a key, split ranges, chunked masks, page
// gathers, the online softmax and the merge against a float64 reference, with one lane a key and four forced. It
// cannot see races or timing: that is the GPU tests' job.
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/attention-decode-emulation.cc
// (tests/cuda/attention-decode-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#define __launch_bounds__(...)


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "iris_cuda.h"  // AttentionArgs; cuda_runtime.h gives the vector types and the qualifiers as host attributes

// ==== the CUDA built-ins the kernel uses, per emulated thread ====

#include "emulation-values.h"
#include "fiber-blocks.h"

// A shuffle's slot: each lane deposits its value, waits for the warp, reads its source lane's (emulated-device.h).
struct ShuffleSlot {
  uint32_t v[32];
};
using Block = EmuBlock<ShuffleSlot>;
#define IRIS_EMULATED_MULTIPROCESSORS 132
#include "emulated-device.h"

// The host side's device calls beyond the launch.
void* emuMalloc(size_t bytes) { return std::calloc(1, bytes); }
#define cudaMalloc(ptr, bytes) (*(ptr) = emuMalloc(bytes), cudaSuccess)
#define cudaMemsetAsync(ptr, value, bytes, stream) (std::memset(ptr, value, bytes), cudaSuccess)

#include "dependent_launch.cuh"  // launchDependent through emuLaunch; before the macros below rename gridDim

#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim
#define gridDim emuGridDim
#include "float_io.cuh"
#undef __shared__
#define __shared__ static
#include "../../native/cuda/kernels/attention_decode.cu"

// ==== cases ====

namespace {

using emulation::randomBf16;
using emulation::fromBf16;

struct Case {
  const char* name;
  std::vector<int> kvLens;  // one query a sequence, at the last position
  int Hq, Hk, D, pageSize, chunk;
  int launchKvLen;  // the launch bound (the engine's: the context length); 0: the longest of kvLens
  int splits;       // forced splits, 0: the kernel's own
};

bool runCase(const Case& c, int lanes, int parts) {
  iris::setDecodeAttentionLanesPerKey(lanes);
  iris::setDecodeAttentionParts(parts);
  const int S = int(c.kvLens.size()), D = c.D;
  std::vector<int> starts{0};
  for (int s = 0; s < S; s++) starts.push_back(s + 1);
  // Every slot holds random keys.
  const emulation::ScrambledPages pages = emulation::scrambledPages(c.kvLens, c.pageSize);
  const int maxPages = pages.maxPages, numPages = pages.numPages;
  const std::vector<int>& table = pages.table;
  const int keyRows = numPages * c.pageSize;
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
  a.numSlots = keyRows;
  a.maxQueryLen = 1;
  a.maxKvLen = maxKv;
  a.scale = 1.f / std::sqrt(float(D));
  a.causal = true;
  a.chunkSize = c.chunk;
  a.paged = true;
  a.forceSplits = c.splits;
  if (!iris::attentionDecodeApplies(a)) {
    std::printf("FAIL %s: the decode kernel does not take it\n", c.name);
    return false;
  }
  const std::string status = iris::attentionDecode(a);
  if (!status.empty()) {
    std::printf("FAIL %s: %s\n", c.name, status.c_str());
    return false;
  }

  // float64 reference over the same bf16 values.
  double diff = 0, norm = 0, maxErr = 0;
  std::string firstBad;
  const int group = c.Hq / c.Hk;
  for (int s = 0; s < S; s++) {
    const int pos = c.kvLens[s] - 1, lo = c.chunk > 0 ? pos - pos % c.chunk : 0, hi = pos + 1;
    auto keyRow = [&](int p) { return table[size_t(s) * maxPages + p / c.pageSize] * c.pageSize + p % c.pageSize; };
    for (int h = 0; h < c.Hq; h++) {
      const int kv = h / group;
      std::vector<double> w(hi - lo);
      double mx = -INFINITY, sum = 0;
      for (int p = lo; p < hi; p++) {
        double dot = 0;
        for (int d = 0; d < D; d++)
          dot += double(fromBf16(q[(size_t(s) * c.Hq + h) * D + d])) * fromBf16(k[(size_t(keyRow(p)) * c.Hk + kv) * D + d]);
        w[p - lo] = dot * a.scale;
        mx = std::max(mx, w[p - lo]);
      }
      for (double& x : w) sum += (x = std::exp(x - mx));
      for (int d = 0; d < D; d++) {
        double ref = 0;
        for (int p = lo; p < hi; p++) ref += w[p - lo] / sum * fromBf16(v[(size_t(keyRow(p)) * c.Hk + kv) * D + d]);
        const size_t idx = (size_t(s) * c.Hq + h) * D + d;
        const double got = fromBf16(out[idx]), err = std::fabs(got - ref);
        diff += err * err;
        norm += ref * ref;
        if (!(err <= maxErr)) maxErr = err;
        if (!(err <= 0.02 + 0.02 * std::fabs(ref)) && firstBad.empty()) {
          char text[160];
          std::snprintf(text, sizeof text, "  first bad: sequence %d head %d dim %d: %g vs %g\n", s, h, d, got, ref);
          firstBad = text;
        }
      }
    }
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-30));
  const bool ok = rel <= 1e-2 && firstBad.empty();
  std::printf("%s %s lanes=%d parts=%d: relative L2 %.2e, max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.name, lanes, parts, rel,
              maxErr, firstBad.c_str());
  return ok;
}

}  // namespace

int main() {
  const std::vector<Case> cases = {
      {"G=8 D=128, lengths 1 31 400 1000, launched for 4096", {1, 31, 400, 1000}, 16, 2, 128, 16, 0, 4096, 0},
      {"G=8 D=128, batch 1, 400 keys", {400}, 16, 2, 128, 16, 0, 4096, 0},
      {"G=8 D=64, launched for the longest", {1000, 1, 31, 400}, 16, 2, 64, 16, 0, 0, 0},
      {"G=8 D=128, forced 1 split", {1, 400, 129}, 16, 2, 128, 16, 0, 4096, 1},
      {"G=8 D=128, forced 3 splits", {1, 400, 129}, 16, 2, 128, 16, 0, 4096, 3},
      {"G=8 D=128, forced 32 splits", {1, 400, 129}, 16, 2, 128, 16, 0, 4096, 32},
      {"G=7 D=128", {700, 3, 31}, 28, 4, 128, 16, 0, 32768, 0},
      {"G=5 D=128 (Scout)", {31, 600, 1, 400}, 40, 8, 128, 16, 0, 4096, 0},
      {"G=5 D=128 chunked 512", {1100, 513, 100, 31}, 20, 4, 128, 16, 512, 16384, 0},
      {"G=5 D=64 chunked 64", {400, 1, 129, 65, 1000}, 5, 1, 64, 16, 64, 0, 0},
      {"G=1 D=128, pages of 32", {31, 400, 1, 1000}, 4, 4, 128, 32, 0, 4096, 0},
      {"G=1 D=64, pages of 8", {1000, 31}, 2, 2, 64, 8, 0, 0, 0},
      {"G=1 D=32", {77, 2}, 2, 2, 32, 8, 0, 0, 0},
      {"G=3 D=32", {300}, 6, 2, 32, 16, 0, 4096, 0},
  };
  bool ok = true;
  for (size_t i = 0; i < cases.size(); i++) {
    const Case& c = cases[i];
    for (int lanes : {1, 4}) ok &= runCase(c, lanes, 0);
    if (c.Hq / c.Hk == 8) ok &= runCase(c, 4, 1);  // a group of eight in one block (parts change only those)
    if (i == 1) {  // batch 1: the group over four blocks of two heads (the rule's) and eight blocks of one
      for (int parts : {4, 8}) ok &= runCase(c, 1, parts);
    }
    if (i < 3) ok &= runCase(c, 0, 0);             // the kernel's own choices
  }
  iris::setDecodeAttentionLanesPerKey(0);
  iris::setDecodeAttentionParts(0);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
