// Runs argmax itself (native/cuda/kernels/argmax.cu, compiled here as plain C++) on the cpu, its launcher included:
// both kernels (the scalar one forced by setArgmaxVec16(0), the 16-byte one by the rule) over bf16, f16 and f32 rows,
// the grid's blocks in a scrambled order (any block may be the last of its row) each as 256 fibers, against the cpu
// backend's order: the first maximum, a NaN never winning, an all-NaN row giving 0, -inf rows, ties across slices,
// +0 above -0 as the 64-bit keys order them. Two calls in a row check that the last block clears its row's state.
// It cannot see races or timing: that is the GPU tests' job (tests/cuda/sampling.test.ts).
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/argmax-emulation.cc
// (tests/cuda/argmax-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#define __launch_bounds__(...)

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "iris_cuda.h"

#include "emulation-values.h"
#include "fiber-blocks.h"

struct ShuffleSlot {
  uint32_t v[32];
};
using Block = EmuBlock<ShuffleSlot, 256>;
#define IRIS_EMULATED_MULTIPROCESSORS 2
#include "emulated-device.h"

// Three blocks a multiprocessor: six resident, so a row of the 16-byte kernel takes 6 / B slices (from 6 rows on one,
// whose threads then run the loop of four packs in flight).
#define cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, ...) (*(blocks) = 3, cudaSuccess)

// The 64-bit collectives and atomics the merge uses (one fiber runs at a time).
inline unsigned long long __shfl_xor_sync(unsigned, unsigned long long v, int mask) {
  const uint64_t lo = exchange(uint32_t(v), emuLane() ^ mask), hi = exchange(uint32_t(v >> 32), emuLane() ^ mask);
  return (hi << 32) | lo;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  if (v > old) *p = v;
  return old;
}
inline unsigned long long atomicExch(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  *p = v;
  return old;
}
// The row state's buffer: host memory, zeroed as the launcher's memset zeroes it.
inline cudaError_t emuMalloc(void** p, size_t bytes) {
  *p = std::malloc(bytes);
  return cudaSuccess;
}
inline cudaError_t emuMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  std::memset(p, value, bytes);
  return cudaSuccess;
}
#define cudaMalloc emuMalloc
#define cudaMemsetAsync emuMemsetAsync

#include "dependent_launch.cuh"

#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim
#define gridDim emuGridDim
#include "float_io.cuh"
#undef __shared__
#define __shared__ static
#include "../../native/cuda/kernels/argmax.cu"

// ==== cases ====

namespace {

// The cpu backend's argmax (src/runtime/cpu/sampling.ts) on the widened values.
int cpuArgmax(const std::vector<float>& row) {
  int best = 0;
  float value = row[0];
  for (size_t j = 1; j < row.size(); j++) {
    if (row[j] > value || (value != value && row[j] == row[j])) value = row[j], best = int(j);
  }
  return best;
}

// Row r's values: random, with what each row tests planted in it.
std::vector<float> rowValues(int r, int V) {
  std::vector<float> row(V);
  for (float& x : row) x = emulation::fromBf16(emulation::toBf16(10 * emulation::uniform() - 5));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  switch (r % 7) {
    case 0: row[0] = nan; break;  // a leading NaN never wins
    case 1: row[V - 1] = 9, row[V / 3] = 9, row[V / 2] = 9; break;  // ties in different slices: the lowest index
    case 2: for (float& x : row) x = nan; break;  // all NaN: index 0
    case 3: for (float& x : row) x = -inf; row[V / 2] = nan; break;  // -inf everywhere but one NaN: index 0
    case 4: row[V - 1] = inf, row[1] = nan; break;  // +inf last
    case 5: for (float& x : row) x = -1; row[V / 2] = 0.f, row[V / 4] = -0.f; break;  // +0 above -0 (the keys' order)
    default: break;
  }
  return row;
}

template <typename T>
T storageOf(float v);
template <>
float storageOf<float>(float v) { return v; }
template <>
__nv_bfloat16 storageOf<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__half storageOf<__half>(float v) { return __float2half_rn(v); }

template <typename T>
bool runCase(int dtype, const char* name, int B, int V, int vec16) {
  iris::setArgmaxVec16(vec16);
  std::vector<T> logits(size_t(B) * V);
  std::vector<int> expected(B);
  for (int r = 0; r < B; r++) {
    std::vector<float> row = rowValues(r, V);
    for (int j = 0; j < V; j++) logits[size_t(r) * V + j] = storageOf<T>(row[j]);
    for (int j = 0; j < V; j++) row[j] = iris::toFloat(logits[size_t(r) * V + j]);  // as stored (f16 saturates)
    expected[r] = cpuArgmax(row);
    if (r % 7 == 5) expected[r] = V / 2;  // the keys put +0 above -0; the cpu takes the first of the two
  }
  bool ok = true;
  for (int call = 0; call < 2; call++) {
    std::vector<int32_t> out(B, -7);
    const std::string status = iris::argmax(dtype, out.data(), logits.data(), B, V);
    if (!status.empty()) {
      std::printf("FAIL launch: %s\n", status.c_str());
      return false;
    }
    for (int r = 0; r < B; r++) {
      if (out[r] == expected[r]) continue;
      if (ok) std::printf("  first bad: call %d row %d: %d vs %d\n", call, r, out[r], expected[r]);
      ok = false;
    }
  }
  std::printf("%s %s B=%d V=%d %s\n", ok ? "ok  " : "FAIL", name, B, V, vec16 == 0 ? "scalar" : "16-byte");
  return ok;
}

}  // namespace

int main() {
  bool ok = true;
  for (int vec16 : {-1, 0}) {
    for (const auto& [B, V] : std::vector<std::pair<int, int>>{{1, 8}, {1, 4104}, {3, 2056}, {7, 6000}, {9, 520}, {14, 1032}, {7, 8800}, {6, 16400}}) {
      ok &= runCase<__nv_bfloat16>(iris::kBF16, "bf16", B, V, vec16);
      ok &= runCase<float>(iris::kF32, "f32", B, V, vec16);
    }
    ok &= runCase<__half>(iris::kF16, "f16", 7, 1000, vec16);
    ok &= runCase<__nv_bfloat16>(iris::kBF16, "bf16 (odd V: scalar)", 7, 1001, vec16);
  }
  iris::setArgmaxVec16(-1);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
