// Runs applyRotary's kernels (native/cuda/include/rotary_apply.cuh, compiled here as plain C++) on the cpu, thread
// by thread: the 16-byte kernel that rotates q and k in one launch against the one-pair kernel called on q and on k
// apart (bit for bit: the same float operations), the one-pair kernel on both at once the same, all of them against a
// float64 reference, the values around q and k untouched, and which shapes and alignments take the 16-byte kernel;
// q and k as tensors of their own, or as the q and k columns of a fused q|k|v product rotated in place (rows of
// (Hq + 2 Hk) D, the v columns untouched).
// The kernels share nothing between threads, so a loop over the grid is their whole emulation. It cannot see races
// or timing: that is the GPU tests' job (tests/cuda/linear-norms.test.ts).
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/rotary-emulation.cc
// (tests/cuda/rotary-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emulation-values.h"

// ==== the CUDA built-ins the kernels use ====

#include "serial-grid.h"
// float_io.cuh's block reductions, which the rotary kernels never call.
inline float __shfl_xor_sync(unsigned, float, int) { std::abort(); }
inline void __syncthreads() { std::abort(); }
#include "rotary_apply.cuh"

namespace {

using iris::blocksFor;
using iris::kThreads;

// Every thread of the grid a launch of `work` threads would have, one after another.
template <typename Body>
void launch(size_t work, Body body) {
  launchSerially(dim3(blocksFor(work)), kThreads, body);
}

float toF(float v) { return v; }
float toF(__nv_bfloat16 v) { return __bfloat162float(v); }

struct Case {
  int T, Hq, Hk, D, R;
  bool interleaved;
  size_t lead;  // values before q in the buffer (1: q and k off the 16-byte grid)
  bool fused;   // q, k inside one q|k|v product [T, (Hq + 2 Hk) D] rather than q [T, Hq, D] then k [T, Hk, D]
};

// Runs one case with storage type E; returns the number of failed checks.
template <typename E>
int runCase(const Case& c, bool expectVec16) {
  const size_t nq = size_t(c.T) * c.Hq * c.D, nk = size_t(c.T) * c.Hk * c.D, tail = 8;
  const size_t total = c.lead + nq + nk + (c.fused ? nk : 0) + tail;
  // Where q's and k's rows start and how far apart they are.
  const size_t qRow = c.fused ? size_t(c.Hq + 2 * c.Hk) * c.D : size_t(c.Hq) * c.D;
  const size_t kRow = c.fused ? qRow : size_t(c.Hk) * c.D;
  const size_t kStart = c.fused ? size_t(c.Hq) * c.D : nq;
  // 64-byte aligned blocks, as the device allocator's are (aligned_alloc wants a multiple of the alignment).
  auto alignedBytes = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
  E* buffer = static_cast<E*>(std::aligned_alloc(64, alignedBytes(total * sizeof(E))));
  float* cosTab = static_cast<float*>(std::aligned_alloc(64, alignedBytes(size_t(c.T) * c.R * 4)));
  float* sinTab = static_cast<float*>(std::aligned_alloc(64, alignedBytes(size_t(c.T) * c.R * 4)));
  for (size_t i = 0; i < total; i++) buffer[i] = iris::fromFloat<E>(4 * emulation::uniform() - 2);
  for (int i = 0; i < c.T * c.R; i++) {
    const float angle = 20 * emulation::uniform() - 10;
    cosTab[i] = std::cos(angle);
    sinTab[i] = std::sin(angle);
  }
  const std::vector<E> before(buffer, buffer + total);
  E* q = buffer + c.lead;
  E* k = q + kStart;

  // The old way: the one-pair kernel on q, then on k.
  std::vector<E> apart(before);
  E* qApart = apart.data() + c.lead;
  E* kApart = qApart + kStart;
  launch(nq / c.D * c.R, [&] { iris::rotaryKernel<E>(qApart, nullptr, cosTab, sinTab, c.T, c.Hq, 0, c.D, c.R, c.interleaved, qRow, 0); });
  launch(nk / c.D * c.R, [&] { iris::rotaryKernel<E>(kApart, nullptr, cosTab, sinTab, c.T, c.Hk, 0, c.D, c.R, c.interleaved, kRow, 0); });

  // The launcher's choice (kernels/rotary.cu), both tensors in one launch.
  const size_t most = c.Hq > c.Hk ? c.Hq : c.Hk;
  const bool vec16 = iris::rotaryVec16Fits<E>(q, k, cosTab, sinTab, c.T, most, c.D, c.R, c.interleaved, qRow, kRow);
  if (vec16) {
    const size_t packs = (c.interleaved ? 2 * c.R : c.R) / iris::Vec16<E>::kN;
    launch(c.T * most * packs, [&] {
      if (c.interleaved) iris::rotaryVec16Kernel<E, true>(q, k, cosTab, sinTab, c.T, c.Hq, c.Hk, c.D, c.R, qRow, kRow);
      else iris::rotaryVec16Kernel<E, false>(q, k, cosTab, sinTab, c.T, c.Hq, c.Hk, c.D, c.R, qRow, kRow);
    });
  } else {
    launch((nq + nk) / c.D * c.R, [&] {
      iris::rotaryKernel<E>(q, k, cosTab, sinTab, c.T, c.Hq, c.Hk, c.D, c.R, c.interleaved, qRow, kRow);
    });
  }

  // The float64 reference over both tensors' heads; every element outside them (lead, tail, v) untouched.
  size_t differ = 0, far = 0, outside = 0;
  std::vector<bool> inside(total, false);
  for (size_t i = 0; i < total; i++) differ += std::memcmp(&buffer[i], &apart[i], sizeof(E)) != 0;
  for (int part = 0; part < 2; part++) {
    const int heads = part == 0 ? c.Hq : c.Hk;
    const size_t start = c.lead + (part == 0 ? 0 : kStart), row = part == 0 ? qRow : kRow;
    for (int t = 0; t < c.T; t++) {
      for (int h = 0; h < heads; h++) {
        const size_t head = start + size_t(t) * row + size_t(h) * c.D;
        for (int d = 0; d < c.D; d++) inside[head + d] = true;
        for (int d = 0; d < c.D; d++) {
          const int j = c.interleaved ? d / 2 : d % c.R;
          const bool rotated = d < 2 * c.R;
          double expected = toF(before[head + d]);
          if (rotated) {
            const int partner = c.interleaved ? (d % 2 == 0 ? d + 1 : d - 1) : (d < c.R ? d + c.R : d - c.R);
            const double self = toF(before[head + d]), other = toF(before[head + partner]);
            const double cs = cosTab[t * c.R + j], sn = sinTab[t * c.R + j];
            const bool first = c.interleaved ? d % 2 == 0 : d < c.R;
            expected = first ? self * cs - other * sn : self * cs + other * sn;
          }
          // One rounding to E of an fp32 result: 2^-8 relative for bf16, fp32's rounding for F32.
          const double tol = sizeof(E) == 2 ? 4e-3 * std::fabs(expected) + 1e-6 : 1e-6 * (std::fabs(expected) + 1);
          far += std::fabs(toF(buffer[head + d]) - expected) > tol;
        }
      }
    }
  }
  for (size_t i = 0; i < total; i++) outside += !inside[i] && std::memcmp(&buffer[i], &before[i], sizeof(E)) != 0;
  std::printf("%zu-byte %-11s %s T=%d Hq=%d Hk=%d D=%d R=%d lead=%zu: %s, %zu differ from two calls, %zu off the reference, %zu outside touched\n",
              sizeof(E), c.interleaved ? "interleaved" : "neox", c.fused ? "fused" : "apart", c.T, c.Hq, c.Hk, c.D, c.R, c.lead,
              vec16 ? "16-byte" : "one pair", differ, far, outside);
  std::free(buffer);
  std::free(cosTab);
  std::free(sinTab);
  return (differ != 0) + (far != 0) + (outside != 0) + (vec16 != expectVec16);
}

}  // namespace

int main() {
  int failures = 0;
  // Qwen2.5-VL's vision heads (16 x 80), Llama 4's (16 x 88), other head counts for q and k, partial rotation.
  // The fused cases: the two vision towers' products rotated in place, GQA, partial rotation, odd alignments.
  const Case shapes[] = {
      {37, 16, 16, 80, 40, false, 0, false}, {37, 16, 16, 80, 40, true, 0, false}, {9, 16, 16, 88, 44, true, 0, false},
      {9, 16, 16, 88, 44, false, 0, false},  {11, 4, 2, 64, 32, false, 0, false},  {7, 2, 3, 32, 16, true, 0, false},
      {5, 3, 3, 48, 8, false, 0, false},     {5, 3, 3, 88, 22, true, 0, false},    {6, 2, 2, 80, 40, false, 8, false},
      {6, 2, 2, 80, 40, false, 1, false},    {6, 2, 2, 80, 40, true, 1, false},    {4, 3, 2, 10, 5, false, 0, false},
      {37, 16, 16, 80, 40, false, 0, true},  {9, 16, 16, 88, 44, true, 0, true},   {11, 4, 2, 64, 32, false, 0, true},
      {5, 3, 3, 88, 22, true, 0, true},      {6, 2, 2, 80, 40, false, 1, true},    {4, 3, 2, 10, 5, false, 0, true},
      {7, 2, 1, 16, 8, false, 0, true},
  };
  for (const Case& c : shapes) {
    const size_t rotatedWidth = c.interleaved ? 2 * c.R : c.R;
    // Which kernel each case must take (a vision shape fallen back to the one-pair kernel would pass every other
    // check): bf16 packs hold 8 values, F32 packs 4, and `lead` keeps q 16-byte aligned only in whole packs.
    failures += runCase<__nv_bfloat16>(c, rotatedWidth % 8 == 0 && c.D % 8 == 0 && c.lead % 8 == 0);
    failures += runCase<float>(c, rotatedWidth % 4 == 0 && c.D % 4 == 0 && c.lead % 4 == 0);
  }
  std::printf(failures == 0 ? "ok\n" : "FAILED: %d\n", failures);
  return failures == 0 ? 0 : 1;
}
