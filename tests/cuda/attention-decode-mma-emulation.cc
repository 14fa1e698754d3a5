// Runs decode attention on the tensor cores itself (native/cuda/kernels/attention_decode_mma.cu, compiled here as plain
// C++) on the cpu, its launcher included: attentionDecodeMma() picks the splits and launches through launchDependent,
// whose cudaLaunchKernelEx here runs the grid's blocks one after another in a scrambled order (so any split may be the
// last to arrive and merge), each as 128 fibers (ucontext) switched only at barriers: __syncthreads a block barrier,
// shuffles, ballots, ldmatrix, movmatrix and mma warp rendezvous (the PTX from the ISA's tables, ptx-emulation.h);
// cp.async copies at once; the kernel's shared memory is one array that the block running owns.
// Sixteen multiprocessors, so small batches split by the kernel's own rule and a few dozen (sequence, KV head) pairs
// do not (past 48 pairs the rule's block is a warp a pair). cp.async lands only at the wait_group that retires it
// (emulated-tensor-cores.h), so a stage read before its tile has landed holds the stage's previous tile. Every block
// shape (1, 2, 4 warps; 2, 3, 4 stages) runs forced on a set of the cases. Checks the transposed products' fragments,
// the warps' tiles and pipelines, split ranges, chunked
// masks, page gathers (scrambled pages, pages of 1, 3, 8, 16 and 32, absent pages and slots past the cache), the
// online softmax, the warps' combine and the splits' merge against a float64 reference, and that nothing the KV store
// ahead writes (Q, each sequence's newest K and V rows) is read before the kernel's wait for it (emulated-device.h).
// It cannot see races or timing: that is the GPU tests' job.
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
#define IRIS_EMULATED_DYNAMIC_SHARED (140 * 1024)  // the widest shape: 4 warps of 4 stages at D = 128
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

#include "decode-emulation-case.h"

namespace {

using decode_case::Case;

// Launches the kernel on a case's inputs and checks its output against the float64 reference.
bool launchAndCheck(const Case& c, decode_case::Inputs& in) {
  if (!iris::attentionDecodeMmaApplies(in.args)) {
    std::printf("FAIL %s: the tensor-core decode kernel does not take it\n", c.name);
    return false;
  }
  // The KV store ahead writes Q and each sequence's newest K and V rows: the kernel reads them only after its wait.
  const iris::AttentionArgs& a = in.args;
  emuWrittenAhead = {{in.q.data(), in.q.size() * 2}};
  for (int s = 0; s < a.S; s++) {
    const int pos = c.kvLens[size_t(s)] - 1, page = a.pageTable[size_t(s) * a.maxPages + pos / a.pageSize];
    const long long slot = (long long)page * a.pageSize + pos % a.pageSize;
    if (page < 0 || slot >= a.numSlots) continue;
    emuWrittenAhead.push_back({in.k.data() + size_t(slot) * a.Hk * a.D, size_t(a.Hk) * a.D * 2});
    emuWrittenAhead.push_back({in.v.data() + size_t(slot) * a.Hk * a.D, size_t(a.Hk) * a.D * 2});
  }
  emuEarlyReads = 0;
  const std::string status = iris::attentionDecodeMma(in.args);
  emuWrittenAhead.clear();
  if (!status.empty()) {
    std::printf("FAIL %s: %s\n", c.name, status.c_str());
    return false;
  }
  if (emuEarlyReads > 0) {
    std::printf("FAIL %s: %ld reads of what the kernel ahead writes before the wait\n", c.name, emuEarlyReads);
    return false;
  }
  // Tolerance: the kernel rounds P to bf16 for P V (bf16's unit roundoff is 2^-8: relative error <= 2^-8 a
  // probability, so at most 2^-8 max|v| = 2^-8 in an output, as the probabilities over l sum to 1) and the output to
  // bf16 (<= 2^-8 |out|); scores and sums are fp32 (relative ~1e-6 on scores below ~10, exp2f within a few ulp). So an
  // element's error is at most 2^-8 (1 + |ref|) + 1e-4, a worst case (P's roundings have both signs and mostly
  // cancel: the observed maxima are ~3e-3, the relative L2 ~2e-3, checked at 4e-3).
  const decode_case::Errors e = decode_case::compare(c, in, [](double ref) { return std::ldexp(1.0, -8) * (1 + std::fabs(ref)) + 1e-4; });
  const bool ok = e.rel <= 4e-3 && e.firstBad.empty();
  std::printf("%s %s: relative L2 %.2e, max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.name, e.rel, e.maxErr, e.firstBad.c_str());
  return ok;
}

bool runCase(const Case& c) {
  decode_case::Inputs in;
  decode_case::fill(c, in);
  return launchAndCheck(c, in);
}

// The splits merged in clusters (their blocks together, each reading the others' shared memory) against the
// workspace's merge on the same inputs: each against the reference, and the same output bits.
bool runClusterCase(const Case& c) {
  decode_case::Inputs in;
  decode_case::fill(c, in);
  iris::setDecodeAttentionClusterMerge(0);
  bool ok = launchAndCheck(c, in);
  const std::vector<uint16_t> workspaceMerge = in.out;
  std::fill(in.out.begin(), in.out.end(), uint16_t(0x7fff));  // NaN: whatever the kernel leaves unwritten shows
  iris::setDecodeAttentionClusterMerge(1);
  std::printf("  in clusters: ");
  ok &= launchAndCheck(c, in);
  iris::setDecodeAttentionClusterMerge(-1);
  if (in.out != workspaceMerge) {
    std::printf("FAIL %s: the cluster's merge and the workspace's differ\n", c.name);
    return false;
  }
  return ok;
}

// `count` sequences of lengths spread over 1 .. 1 + span (few multiples of 16).
std::vector<int> spreadLengths(int count, int step, int span) {
  std::vector<int> lengths;
  for (int i = 0; i < count; i++) lengths.push_back(1 + (i * step) % span);
  return lengths;
}

}  // namespace

int main() {
  // Sixteen multiprocessors: the kernel's own rule splits while S x Hk < 48 (at most 48 / (S x Hk) splits), and takes
  // a warp a pair past 48 pairs.
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
      {"G=8 D=128, batch 26 (52 pairs: the rule's warp a pair)", spreadLengths(26, 37, 260), 16, 2, 128, 16, 0, 4096, 0},
      {"G=5 D=128 chunked 128, batch 13 (52 pairs: a warp a pair)", spreadLengths(13, 71, 700), 20, 4, 128, 16, 128, 4096, 0},
      {"G=8 D=64, batch 25, pages of 3 (50 pairs: a warp a pair)", spreadLengths(25, 23, 300), 16, 2, 64, 3, 0, 0, 0},
  };
  emuClusterShared = iris::decodeMmaShared;
  emuClusterSharedBytes = sizeof(iris::decodeMmaShared);
  bool ok = true;
  for (const Case& c : cases) ok &= runCase(c);
  // Clusters of 8 (batch 1: 24 splits, 4 with keys; forced 32 splits: 2,100 keys in 17 merge through the workspace in
  // the same launch), 6 (lengths 1 to 1,000: one split alone, 4 and 6 in a cluster), 3, 5 and the chunked mask's 3;
  // each block shape at batch 1 and forced 32 splits.
  std::printf("the splits merged in clusters:\n");
  for (int i : {0, 1, 3, 4, 5, 7, 11}) ok &= runClusterCase(cases[size_t(i)]);
  for (int warps : {1, 2}) {
    iris::setDecodeAttentionMmaWarps(warps);
    for (int i : {1, 4}) ok &= runClusterCase(cases[size_t(i)]);
  }
  iris::setDecodeAttentionMmaWarps(0);
  // Each block shape forced: batches 1, 4 and 26, lengths off the tile, chunked masks, absent keys, forced splits,
  // head dim 64. The cases' indices above.
  const int forcedCases[] = {1, 2, 4, 5, 8, 11, 15, 16};
  for (int warps : {1, 2, 4}) {
    for (int stages : {2, 3, 4}) {
      iris::setDecodeAttentionMmaWarps(warps);
      iris::setDecodeAttentionMmaStages(stages);
      std::printf("forced %d warps, %d stages:\n", warps, stages);
      for (int i : forcedCases) ok &= runCase(cases[size_t(i)]);
    }
  }
  // Shorter splits spread over a cluster (at least 32 and 64 keys a split, where the workspace's splits hold 128): other
  // splits than the workspace's, so against the reference alone.
  iris::setDecodeAttentionClusterMerge(1);
  for (int keys : {32, 64}) {
    iris::setDecodeAttentionClusterSplitKeys(keys);
    std::printf("in clusters, splits of at least %d keys:\n", keys);
    for (int i : {0, 1, 4, 7, 11}) ok &= runCase(cases[size_t(i)]);
  }
  iris::setDecodeAttentionClusterSplitKeys(0);
  iris::setDecodeAttentionClusterMerge(-1);
  iris::setDecodeAttentionMmaWarps(0);
  iris::setDecodeAttentionMmaStages(0);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
