// Runs rotaryStoreKV's kernels (native/cuda/include/rotary_store_kv.cuh, compiled here as plain C++) on the cpu,
// thread by thread: the 16-byte kernel against the one-value kernel, bit for bit (the same float operations), on q
// and on both caches (slots of -1 and past the caches store nothing, every other cache row untouched), for neox and
// interleaved rotations, a partial rotation (an unrotated tail), no rotation with the query temperature, bf16 and f32;
// both against a float64 reference; and which shapes and alignments the 16-byte kernel takes. Without the QK norm
// the kernels share nothing between threads, so a loop over the grid is their whole emulation. It cannot see races
// or timing: that is the GPU tests' job (tests/cuda/fused.test.ts).
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/rotary-store-kv-emulation.cc
// (tests/cuda/rotary-store-kv-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#define __launch_bounds__(...)
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emulation-values.h"

// ==== the CUDA built-ins the kernels use ====

// The QK norm's reductions, which no case here reaches.
inline float __shfl_xor_sync(unsigned, float, int) { std::abort(); }
inline void __syncthreads() { std::abort(); }
inline float rsqrtf(float) { std::abort(); }
#include "dependent_launch.cuh"
#include "serial-grid.h"
#undef __shared__
#define __shared__ static
#include "rotary_store_kv.cuh"

namespace {


double toD(float v) { return v; }
double toD(__nv_bfloat16 v) { return __bfloat162float(v); }

struct Case {
  int T, Hq, Hk, D, R;
  bool interleaved, scaled;
  size_t lead;  // values before q|k|v in its buffer (1: off the 16-byte grid, the one-value kernel)
};

template <typename E>
struct Buffers {
  std::vector<E> q, kCache, vCache;
};

// 64-byte aligned storage, as the device allocator's blocks are.
template <typename T>
T* aligned(size_t n) {
  return static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64));
}

template <typename E>
int runCase(const Case& c, bool expectVec16) {
  const int width = (c.Hq + 2 * c.Hk) * c.D, numSlots = 2 * c.T + 3;
  E* qkvBlock = aligned<E>(c.lead + size_t(c.T) * width);
  E* qkv = qkvBlock + c.lead;
  for (size_t i = 0; i < size_t(c.T) * width; i++) qkv[i] = iris::fromFloat<E>(4 * emulation::uniform() - 2);
  const int angleRow = c.R > 0 ? c.R : 4;
  float* cosTab = aligned<float>(size_t(c.T) * angleRow);
  float* sinTab = aligned<float>(size_t(c.T) * angleRow);
  for (int i = 0; i < c.T * angleRow; i++) {
    const float angle = 20 * emulation::uniform() - 10;
    cosTab[i] = std::cos(angle), sinTab[i] = std::sin(angle);
  }
  std::vector<int32_t> slots(c.T);
  for (int t = 0; t < c.T; t++) slots[t] = t % 5 == 1 ? -1 : t % 5 == 3 ? numSlots + t : numSlots - 1 - 2 * t;  // distinct, scattered
  std::vector<float> scales(c.T);
  for (float& s : scales) s = 0.5f + emulation::uniform();
  const float* qScale = c.scaled ? scales.data() : nullptr;

  const size_t nq = size_t(c.T) * c.Hq * c.D, nCache = size_t(numSlots) * c.Hk * c.D;
  auto fresh = [&] {
    Buffers<E> b{std::vector<E>(nq), std::vector<E>(nCache), std::vector<E>(nCache)};
    for (size_t i = 0; i < nq; i++) b.q[i] = iris::fromFloat<E>(-77.f);
    for (size_t i = 0; i < nCache; i++) b.kCache[i] = iris::fromFloat<E>(float(i % 13)), b.vCache[i] = iris::fromFloat<E>(float(i % 11));
    return b;
  };
  // 64-byte aligned copies for the kernels (the vectors' own storage is only 16-byte aligned by chance).
  auto run = [&](bool vec16) {
    Buffers<E> b = fresh();
    E* q = aligned<E>(nq);
    E* kc = aligned<E>(nCache);
    E* vc = aligned<E>(nCache);
    std::memcpy(q, b.q.data(), nq * sizeof(E)), std::memcpy(kc, b.kCache.data(), nCache * sizeof(E));
    std::memcpy(vc, b.vCache.data(), nCache * sizeof(E));
    if (vec16) {
      const iris::RotaryStoreKVPacks packs(c.Hq, c.Hk, c.D, c.R, c.interleaved, iris::Vec16<E>::kN);
      const unsigned threads = iris::kRotaryVec16Threads, blocks = (c.T * packs.perToken + threads - 1) / threads;
      launchSerially(dim3(blocks), threads, [&] {
        if (c.interleaved) iris::rotaryStoreKVVec16Kernel<E, true>(q, kc, vc, qkv, cosTab, sinTab, slots.data(), c.T, c.Hq, c.Hk, c.D, c.R, numSlots, qScale);
        else iris::rotaryStoreKVVec16Kernel<E, false>(q, kc, vc, qkv, cosTab, sinTab, slots.data(), c.T, c.Hq, c.Hk, c.D, c.R, numSlots, qScale);
      });
    } else {
      const unsigned slices = (width + iris::kRotaryThreads - 1) / iris::kRotaryThreads;
      launchSerially(dim3(c.T, slices), iris::kRotaryThreads, [&] {
        iris::rotaryStoreKVKernel<E>(q, kc, vc, qkv, cosTab, sinTab, slots.data(), c.Hq, c.Hk, c.D, c.R, c.interleaved, numSlots, -1.f, qScale);
      });
    }
    std::memcpy(b.q.data(), q, nq * sizeof(E)), std::memcpy(b.kCache.data(), kc, nCache * sizeof(E));
    std::memcpy(b.vCache.data(), vc, nCache * sizeof(E));
    std::free(q), std::free(kc), std::free(vc);
    return b;
  };
  const bool fits = iris::rotaryStoreKVVec16Fits<E>(nullptr, nullptr, nullptr, qkv, cosTab, sinTab, c.T, c.Hq, c.Hk, c.D, c.R,
                                                    c.interleaved, -1.f);
  int failures = 0;
  if (fits != expectVec16) {
    std::printf("  16-byte kernel %s, expected %s\n", fits ? "taken" : "declined", expectVec16 ? "taken" : "declined");
    failures++;
  }
  const Buffers<E> one = run(false);
  const Buffers<E> packed = fits ? run(true) : one;
  auto same = [](const std::vector<E>& a, const std::vector<E>& b) { return std::memcmp(a.data(), b.data(), a.size() * sizeof(E)) == 0; };
  if (!same(one.q, packed.q) || !same(one.kCache, packed.kCache) || !same(one.vCache, packed.vCache)) {
    std::printf("  the 16-byte kernel's bits differ from the one-value kernel's\n");
    failures++;
  }
  // The float64 reference: rotation, the query scale, the stores (and nothing else written).
  const Buffers<E> before = fresh();
  double worst = 0;
  size_t wrongCache = 0;
  std::vector<bool> written(size_t(numSlots), false);
  for (int t = 0; t < c.T; t++) {
    const bool store = slots[t] >= 0 && slots[t] < numSlots;
    if (store) written[slots[t]] = true;
    for (int h = 0; h < c.Hq + 2 * c.Hk; h++) {
      for (int d = 0; d < c.D; d++) {
        const E* head = qkv + size_t(t) * width + size_t(h) * c.D;
        double expected = toD(head[d]);
        if (h < c.Hq + c.Hk && d < 2 * c.R) {
          const int j = c.interleaved ? d / 2 : d % c.R;
          const int partner = c.interleaved ? (d ^ 1) : (d < c.R ? d + c.R : d - c.R);
          const bool first = c.interleaved ? d % 2 == 0 : d < c.R;
          const double cs = cosTab[t * c.R + j], sn = sinTab[t * c.R + j], other = toD(head[partner]);
          expected = first ? expected * cs - other * sn : expected * cs + other * sn;
        }
        if (h < c.Hq && qScale != nullptr) expected *= qScale[t];
        double got;
        if (h < c.Hq) got = toD(packed.q[(size_t(t) * c.Hq + h) * c.D + d]);
        else if (!store) continue;
        else if (h < c.Hq + c.Hk) got = toD(packed.kCache[(size_t(slots[t]) * c.Hk + h - c.Hq) * c.D + d]);
        else got = toD(packed.vCache[(size_t(slots[t]) * c.Hk + h - c.Hq - c.Hk) * c.D + d]);
        const double err = std::fabs(got - expected) / (1e-2 + std::fabs(expected));
        worst = err > worst ? err : worst;
      }
    }
  }
  for (int s = 0; s < numSlots; s++) {
    if (written[s]) continue;
    const size_t at = size_t(s) * c.Hk * c.D;
    wrongCache += std::memcmp(&packed.kCache[at], &before.kCache[at], c.Hk * c.D * sizeof(E)) != 0;
    wrongCache += std::memcmp(&packed.vCache[at], &before.vCache[at], c.Hk * c.D * sizeof(E)) != 0;
  }
  // bf16: two roundings (the rotation's inputs are exact, the output rounded, the scale's input rounded first).
  const double tolerance = sizeof(E) == 2 ? 1e-2 : 1e-5;
  if (worst > tolerance) std::printf("  float64 reference: worst relative error %.3g\n", worst), failures++;
  if (wrongCache > 0) std::printf("  %zu cache rows written that no slot names\n", wrongCache), failures++;
  std::free(qkvBlock), std::free(cosTab), std::free(sinTab);
  return failures;
}

}  // namespace

int main() {
  const Case cases[] = {
      {5, 16, 2, 128, 64, false, false, 0},  // Qwen2.5-VL-3B's decoder
      {37, 16, 2, 128, 64, false, false, 0},
      {9, 5, 1, 128, 32, true, false, 0},    // interleaved, half rotated
      {6, 4, 2, 64, 16, false, true, 0},     // neox, an unrotated tail, the query scale
      {7, 8, 1, 128, 0, true, true, 0},      // NoPE: no rotation, the query temperature
      {4, 3, 3, 16, 4, true, false, 0},      // interleaved R 4: 2R one bf16 pack, two f32 packs
      {3, 4, 2, 128, 64, false, false, 1},   // q|k|v off the 16-byte grid: the one-value kernel
      {3, 4, 2, 80, 20, false, false, 0},    // neox R 20: not whole bf16 packs
  };
  const bool bf16Takes[] = {true, true, true, true, true, true, false, false};
  const bool f32Takes[] = {true, true, true, true, true, true, false, true};
  int failures = 0, i = 0;
  for (const Case& c : cases) {
    const int bf = runCase<__nv_bfloat16>(c, bf16Takes[i]);
    const int f = runCase<float>(c, f32Takes[i]);
    std::printf("%s T=%d Hq=%d Hk=%d D=%d R=%d %s%s lead=%zu\n", bf + f == 0 ? "ok  " : "FAIL", c.T, c.Hq, c.Hk, c.D, c.R,
                c.interleaved ? "interleaved" : "neox", c.scaled ? " scaled" : "", c.lead);
    failures += bf + f;
    i++;
  }
  std::printf(failures == 0 ? "ok\n" : "FAILED\n");
  return failures == 0 ? 0 : 1;
}
