// rotaryStoreKV's kernels (launched by kernels/fused.cu; compiled as plain C++ by tests/cuda/rotary-store-kv-emulation.cc):
// from the fused q|k|v projection [T, (Hq + 2 Hk) D], rotated q [T, Hq, D] written and the rotated k and the v rows
// stored straight into the paged caches (slot < 0 or past the caches: padding, skipped).
//
// The shape that matters: Qwen2.5-VL-3B's decode step at batch 512 (Hq 16, Hk 2, D 128, neox R 64): 2.6 MB of q|k|v
// read, 2.1 MB of q and 0.5 MB of k and v written, ~1.3 µs at 4.2 TB/s. The one-value kernel took 8.0 µs there:
// 5,120 blocks of 2-byte accesses, each value's angle read per head, a runtime division per value. The 16-byte kernel
// gives a thread one 16-byte pack of a rotated head (with its partner pack R further for neox, the angles in 16-byte
// loads), a pack of a head's unrotated tail, or a pack of a v row: 176 threads a token at that shape (90,112 at batch
// 512, under one wave), and at batch 1 two blocks instead of ten.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dependent_launch.cuh"
#include "float_io.cuh"
#include "rotary_apply.cuh"
#include "vec16.cuh"

namespace iris {

constexpr int kRotaryThreads = 256;
constexpr int kRotaryVec16Threads = 128;

// ==== one value a thread (any shape; Llama 4's QK norm) ====

// One thread per output element: grid.x the tokens, grid.y slices of a token's (Hq + Hk) * D rotated q and k
// elements followed by its Hk * D v elements, so a decode token spreads over several blocks instead of one block
// walking all of them.
template <typename T>
__global__ void __launch_bounds__(kRotaryThreads) rotaryStoreKVKernel(T* q, T* kCache, T* vCache, const T* qkv,
    const float* cosTab, const float* sinTab, const int32_t* slots, int Hq, int Hk, int D, int R, bool interleaved,
    size_t numSlots, float qkNormEps, const float* qScale) {
  __shared__ float warpSquares[kRotaryThreads / 32];
  waitForPrevious();  // launched as a dependent of the product that wrote qkv
  releaseNext();
  const int t = blockIdx.x;
  const int idx = blockIdx.y * kRotaryThreads + threadIdx.x;
  const int rotated = (Hq + Hk) * D;
  const bool inRange = idx < rotated + Hk * D;
  const T* src = qkv + size_t(t) * (Hq + 2 * Hk) * D;
  const int32_t slot = slots[t];
  const bool store = slot >= 0 && size_t(slot) < numSlots;
  const int head = idx / D, d = idx % D;
  float value = inRange ? toFloat(src[idx]) : 0.f;
  if (inRange && idx < rotated && d < 2 * R) {
    const T* in = src + head * D;
    const int j = interleaved ? d / 2 : (d < R ? d : d - R);
    const int other = interleaved ? (d ^ 1) : (d < R ? d + R : d - R);
    const bool first = interleaved ? (d % 2 == 0) : (d < R);
    const float o = toFloat(in[other]), c = cosTab[size_t(t) * R + j], s = sinTab[size_t(t) * R + j];
    float x1 = first ? value : o, x2 = first ? o : value;  // the pair, rotated as every rotary kernel does
    rotatePair(x1, x2, c, s);
    value = first ? x1 : x2;
  }
  if (qkNormEps >= 0.f) {
    // The QK norm, as rmsNorm would read the rotated head back: rounded to T, then the head's mean square. A block
    // holds whole heads (kRotaryThreads a multiple of D): a head's lanes (a run of D, or whole warps) sum by shuffles
    // among themselves, and a head wider than a warp adds its warps' sums through shared memory (D uniform: every
    // thread reaches the barrier or none does).
    value = toFloat(fromFloat<T>(value));
    float sum = value * value;
    for (int o = (D < 32 ? D : 32) / 2; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (D > 32) {
      if (threadIdx.x % 32 == 0) warpSquares[threadIdx.x / 32] = sum;
      __syncthreads();
      const int warpsPerHead = D / 32, firstWarp = (threadIdx.x / D) * warpsPerHead;
      sum = 0.f;
      for (int w = 0; w < warpsPerHead; w++) sum += warpSquares[firstWarp + w];
    }
    value *= rsqrtf(sum / float(D) + qkNormEps);
  }
  if (!inRange) return;
  if (idx >= rotated) {
    if (store) vCache[size_t(slot) * Hk * D + (idx - rotated)] = src[idx];
    return;
  }
  if (head < Hq) {
    if (qScale != nullptr) value = toFloat(fromFloat<T>(value)) * qScale[t];  // scaleRows on the stored query
    q[(size_t(t) * Hq + head) * D + d] = fromFloat<T>(value);
  } else if (store) {
    kCache[(size_t(slot) * Hk + (head - Hq)) * D + d] = fromFloat<T>(value);
  }
}

// ==== one 16-byte pack a thread ====

// How a token's work splits into packs: each q and k head has `rotatedPacks` (neox: a pack and its partner R
// further; interleaved: a pack of pairs) then `tailPacks` of dims past 2R, each v head `vPacks`.
struct RotaryStoreKVPacks {
  uint32_t rotatedPacks, perRotatedHead, vPacks, perToken;

  __host__ __device__ RotaryStoreKVPacks(uint32_t Hq, uint32_t Hk, uint32_t D, uint32_t R, bool interleaved, uint32_t kN)
      : rotatedPacks((interleaved ? 2 * R : R) / kN), perRotatedHead(rotatedPacks + (D - 2 * R) / kN), vPacks(D / kN),
        perToken((Hq + Hk) * perRotatedHead + Hk * vPacks) {}
};

// A query pack scaled as scaleRows scales the stored query: rounded to E first.
template <typename E>
__device__ __forceinline__ void scaleQuery(Vec16<E>& pack, float scale) {
#pragma unroll
  for (int i = 0; i < Vec16<E>::kN; i++) pack.v[i] = toFloat(fromFloat<E>(pack.v[i])) * scale;
}

// Each thread one pack of RotaryStoreKVPacks; 32-bit indices (the launcher keeps the count under 2^31). No QK norm
// (the one-value kernel serves it). The same float operations as the one-value kernel, so the same bits.
template <typename E, bool kInterleaved>
__global__ void __launch_bounds__(kRotaryVec16Threads) rotaryStoreKVVec16Kernel(E* __restrict__ q,
    E* __restrict__ kCache, E* __restrict__ vCache, const E* __restrict__ qkv, const float* __restrict__ cosTab,
    const float* __restrict__ sinTab, const int32_t* __restrict__ slots, uint32_t T, uint32_t Hq, uint32_t Hk,
    uint32_t D, uint32_t R, size_t numSlots, const float* __restrict__ qScale) {
  constexpr int kN = Vec16<E>::kN, kAngles = HeadPack<E, kInterleaved>::kAngles;
  const RotaryStoreKVPacks packs(Hq, Hk, D, R, kInterleaved, kN);
  waitForPrevious();  // launched as a dependent of the product that wrote qkv
  releaseNext();
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= T * packs.perToken) return;
  const uint32_t t = i / packs.perToken, u = i % packs.perToken, rotatedUnits = (Hq + Hk) * packs.perRotatedHead;
  const E* src = qkv + size_t(t) * (Hq + 2 * Hk) * D;
  const int32_t slot = slots[t];
  const bool store = slot >= 0 && size_t(slot) < numSlots;
  if (u >= rotatedUnits) {
    const uint32_t head = (u - rotatedUnits) / packs.vPacks, at = (u - rotatedUnits) % packs.vPacks * kN;
    if (store) {
      *reinterpret_cast<uint4*>(vCache + (size_t(slot) * Hk + head) * D + at) =
          *reinterpret_cast<const uint4*>(src + size_t(Hq + Hk + head) * D + at);
    }
    return;
  }
  const uint32_t head = u / packs.perRotatedHead, p = u % packs.perRotatedHead;
  const bool isQuery = head < Hq;
  if (!isQuery && !store) return;
  E* dst = isQuery ? q + (size_t(t) * Hq + head) * D : kCache + (size_t(slot) * Hk + (head - Hq)) * D;
  const float scale = isQuery && qScale != nullptr ? qScale[t] : 1.f;
  const E* in = src + size_t(head) * D;
  if (p < packs.rotatedPacks) {
    HeadPack<E, kInterleaved> pack;
    pack.load(in, p, R);
    float c[kAngles], s[kAngles];
    loadAngles(c, cosTab + size_t(t) * R + p * kAngles);
    loadAngles(s, sinTab + size_t(t) * R + p * kAngles);
    pack.rotate(c, s);
    if (isQuery && qScale != nullptr) {
      scaleQuery(pack.a, scale);
      if constexpr (!kInterleaved) scaleQuery(pack.b, scale);
    }
    pack.store(dst, p, R);
  } else {
    const uint32_t at = 2 * R + (p - packs.rotatedPacks) * kN;
    Vec16<E> pack;
    pack.load(in + at);
    if (isQuery && qScale != nullptr) scaleQuery(pack, scale);
    pack.store(dst + at);
  }
}

// Whether the 16-byte kernel applies: no QK norm, heads and rotated halves in whole aligned packs, angle rows that
// start 16-byte aligned (R a multiple of 4, the tables aligned), and its 32-bit count enough.
template <typename E>
bool rotaryStoreKVVec16Fits(const void* q, const void* kCache, const void* vCache, const void* qkv, const float* cos,
    const float* sin, size_t T, int Hq, int Hk, int D, int R, bool interleaved, float qkNormEps) {
  constexpr int kN = Vec16<E>::kN;
  if (qkNormEps >= 0.f || (interleaved ? 2 * R : R) % kN != 0 || R % 4 != 0 || 2 * R > D) return false;
  if (!vec16Fits<E>(size_t(D), {q, kCache, vCache, qkv, cos, sin})) return false;
  return T * RotaryStoreKVPacks(Hq, Hk, D, R, interleaved, kN).perToken < (size_t(1) << 31);
}

}  // namespace iris
