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

#include "decode-emulation-case.h"

namespace {

using decode_case::Case;

bool runCase(const Case& c, int lanes, int parts) {
  iris::setDecodeAttentionLanesPerKey(lanes);
  iris::setDecodeAttentionParts(parts);
  decode_case::Inputs in;
  decode_case::fill(c, in);
  if (!iris::attentionDecodeApplies(in.args)) {
    std::printf("FAIL %s: the decode kernel does not take it\n", c.name);
    return false;
  }
  const std::string status = iris::attentionDecode(in.args);
  if (!status.empty()) {
    std::printf("FAIL %s: %s\n", c.name, status.c_str());
    return false;
  }
  const decode_case::Errors e = decode_case::compare(c, in, [](double ref) { return 0.02 + 0.02 * std::fabs(ref); });
  const bool ok = e.rel <= 1e-2 && e.firstBad.empty();
  std::printf("%s %s lanes=%d parts=%d: relative L2 %.2e, max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.name, lanes, parts, e.rel,
              e.maxErr, e.firstBad.c_str());
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
