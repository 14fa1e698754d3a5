// applyRotary's kernels (launched by kernels/rotary.cu; compiled as plain C++ by tests/cuda/rotary-emulation.cc).
//
// One call rotates x and, when given, y by the same angles: the vision towers' q and k (same positions), in one
// launch that reads each angle once for both. The shape that matters, Qwen2.5-VL's vision block over 14 pictures:
// 18,144 rows, q and k of 16 heads x 80 bf16 each. Floor: q and k read and written, 4 x 18,144 x 1,280 x 2 B
// = 185.8 MB, plus cos and sin read once, 2 x 18,144 x 40 x 4 B = 5.8 MB: 191.6 MB at 4.2 TB/s = 45.6 us.
// Predicted for the 16-byte kernel: ~55 us (~3.5 TB/s, what the 16-byte elementwise kernels reach), against
// 2 x 65 us measured for two launches of the one-pair-per-thread kernel (2-byte accesses, every angle read per head).

#pragma once

#include <cstddef>
#include <cstdint>

#include "float_io.cuh"
#include "rotate_pair.cuh"
#include "vec16.cuh"

namespace iris {

// Rows of x and y are xRow and yRow elements apart: headsX x D and headsY x D for tensors of their own, the fused
// q|k|v row for q and k rotated in place inside the product (attention_qkv.cu).

// One rotated pair per thread, any alignment and any R: the fallback. Heads 0 .. headsX-1 are x's, the rest y's.
template <typename E>
__global__ void rotaryKernel(E* x, E* y, const float* cosTab, const float* sinTab, size_t T, size_t headsX,
                             size_t headsY, size_t D, size_t R, bool interleaved, size_t xRow, size_t yRow) {
  const size_t heads = headsX + headsY, n = T * heads * R;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t j = i % R, th = i / R, t = th / heads, h = th % heads;
    E* base = h < headsX ? x + t * xRow + h * D : y + t * yRow + (h - headsX) * D;
    const float c = cosTab[t * R + j], s = sinTab[t * R + j];
    const size_t a = interleaved ? 2 * j : j, b = interleaved ? 2 * j + 1 : j + R;
    float x1 = toFloat(base[a]), x2 = toFloat(base[b]);
    rotatePair(x1, x2, c, s);
    base[a] = fromFloat<E>(x1);
    base[b] = fromFloat<E>(x2);
  }
}

// N consecutive angles (N a multiple of 2, p aligned to N floats up to 16 bytes) in 8- or 16-byte loads.
template <int N>
__device__ __forceinline__ void loadAngles(float (&out)[N], const float* p) {
  if constexpr (N % 4 == 0) {
#pragma unroll
    for (int i = 0; i < N; i += 4) {
      const float4 v = *reinterpret_cast<const float4*>(p + i);
      out[i] = v.x, out[i + 1] = v.y, out[i + 2] = v.z, out[i + 3] = v.w;
    }
  } else {
    static_assert(N == 2, "angles come in pairs or fours");
    const float2 v = *reinterpret_cast<const float2*>(p);
    out[0] = v.x, out[1] = v.y;
  }
}

// Pack `p` (16 bytes) of one head's rotated dims, rotated by the pack's angles. neox: the pack of dims p*kN .. and
// its partner R further (x1 in the first half, x2 in the second); interleaved: the pack holds kN/2 complex pairs.
template <typename E, bool kInterleaved>
struct HeadPack {
  static constexpr int kN = Vec16<E>::kN, kAngles = kInterleaved ? kN / 2 : kN;
  Vec16<E> a, b;  // b: neox's second half only

  __device__ __forceinline__ void load(const E* head, uint32_t p, uint32_t R) {
    a.load(head + p * kN);
    if constexpr (!kInterleaved) b.load(head + R + p * kN);
  }
  __device__ __forceinline__ void rotate(const float (&c)[kAngles], const float (&s)[kAngles]) {
#pragma unroll
    for (int k = 0; k < kAngles; k++) {
      rotatePair(kInterleaved ? a.v[2 * k] : a.v[k], kInterleaved ? a.v[2 * k + 1] : b.v[k], c[k], s[k]);
    }
  }
  __device__ __forceinline__ void store(E* head, uint32_t p, uint32_t R) const {
    a.store(head + p * kN);
    if constexpr (!kInterleaved) b.store(head + R + p * kN);
  }
};

// One thread per (row, head index, 16-byte pack of rotated dims): head h of x and head h of y, with the pack's
// angles loaded once for both. 32-bit indices (the launcher keeps the count under 2^31): the divisions are the
// kernel's only arithmetic besides the rotation, and 64-bit ones are emulated. x and y share no element (the
// contract; q and k of one fused row are disjoint columns), so __restrict__ lets all four packs of q and k be
// loaded before either is stored.
template <typename E, bool kInterleaved>
__global__ void rotaryVec16Kernel(E* __restrict__ x, E* __restrict__ y, const float* __restrict__ cosTab,
                                  const float* __restrict__ sinTab, uint32_t T, uint32_t headsX, uint32_t headsY,
                                  uint32_t D, uint32_t R, uint32_t xRow, uint32_t yRow) {
  constexpr int kN = Vec16<E>::kN, kAngles = HeadPack<E, kInterleaved>::kAngles;
  const uint32_t packs = (kInterleaved ? 2 * R : R) / kN, heads = headsX > headsY ? headsX : headsY, n = T * heads * packs;
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const uint32_t p = i % packs, th = i / packs, t = th / heads, h = th % heads;
    float c[kAngles], s[kAngles];
    loadAngles(c, cosTab + size_t(t) * R + p * kAngles);
    loadAngles(s, sinTab + size_t(t) * R + p * kAngles);
    // Both heads' packs loaded before either is stored: four 16-byte loads in flight a thread.
    const bool inX = h < headsX, inY = h < headsY;
    E* xHead = inX ? x + size_t(t) * xRow + h * D : nullptr;
    E* yHead = inY ? y + size_t(t) * yRow + h * D : nullptr;
    HeadPack<E, kInterleaved> xPack, yPack;
    if (inX) xPack.load(xHead, p, R);
    if (inY) yPack.load(yHead, p, R);
    if (inX) {
      xPack.rotate(c, s);
      xPack.store(xHead, p, R);
    }
    if (inY) {
      yPack.rotate(c, s);
      yPack.store(yHead, p, R);
    }
  }
}

// Whether the 16-byte kernel applies: every head and every pack 16-byte aligned (D, the row strides and the rotated
// width in whole packs, the pointers aligned, the tables' rows too), and its 32-bit count and offsets enough.
template <typename E>
bool rotaryVec16Fits(const void* x, const void* y, const float* cos, const float* sin, size_t T, size_t heads,
                     size_t D, size_t R, bool interleaved, size_t xRow, size_t yRow) {
  constexpr size_t kN = Vec16<E>::kN;
  const size_t packs = (interleaved ? 2 * R : R) / kN;
  return (interleaved ? 2 * R : R) % kN == 0 && vec16Fits<E>(D, {x, y, cos, sin}) && xRow % kN == 0 &&
         yRow % kN == 0 && T * heads * packs < (size_t(1) << 31) && xRow < (size_t(1) << 32) && yRow < (size_t(1) << 32);
}

}  // namespace iris
