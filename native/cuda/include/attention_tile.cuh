// One 64-key tile of tensor-core attention for a warp's 16 query rows, shared by attention_mma.cu (prefill, vision,
// paged) and attention_window.cu (the vision windows, q and k rotated in shared memory): the same instructions in the
// same order, so where both serve a call their outputs are the same bits. Compiled as plain C++ by the emulations
// (tests/cuda/attention-mma-emulation.cc) with mma_frag.cuh's PTX emulated.
//
// A tile lives in shared memory as rows of kLd bf16 (the head dim padded to 16 for the k-steps, plus 8: ldmatrix
// conflict-free); the warp's Q stays in registers as A fragments. Per tile:
//   S = Q K^T (mma.m16n8k16), the online softmax on the fp32 accumulators in the log2 domain, O += P V with P
//   re-packed from the score accumulators (no shuffle) and V through ldmatrix.trans.
#pragma once

#include <cmath>

#include "mma_frag.cuh"

namespace iris {
namespace attn {

constexpr int kWarps = 4;
constexpr int kRows = 16 * kWarps;  // query rows of a block
constexpr int kKeys = 64;           // keys of a tile

// A tile's shared row stride in bf16 at head dim D: D padded to 16 for the k-steps of Q K^T, plus 8 (16 bytes: ldmatrix
// conflict-free). Also for the launchers' run-time footprints.
constexpr int tileRowElems(int D) { return (D + 15) / 16 * 16 + 8; }

template <int D>
struct TileShape {
  static constexpr int kDP = (D + 15) / 16 * 16;  // head dim padded for the k-steps of Q K^T
  static constexpr int kLd = tileRowElems(D);      // shared row stride (bf16)
  static constexpr int kChunks = D / 8;            // 16-byte pieces of a row
  static constexpr int kPadChunks = (kDP - D) / 8;
  static constexpr int kTileElems = kKeys * kLd;
  static constexpr int kNT = kDP / 8;   // n-tiles of O (8 dims each)
  static constexpr int kKS = kDP / 16;  // k-steps of Q K^T
  static constexpr int kNK = kKeys / 8;  // n-tiles of S (8 keys each)
};

// Zeroes the padded dims (past D) of `buffers` tiles of kKeys rows from `smem` on: cp.async never writes them, and a
// zero dim adds nothing to a score. Once a block, before its first copies.
template <int D>
__device__ __forceinline__ void zeroPaddedDims(__nv_bfloat16* smem, int buffers, int tid, int threads) {
  using Shape = TileShape<D>;
  if constexpr (Shape::kPadChunks > 0) {
    for (int idx = tid; idx < buffers * kKeys * Shape::kPadChunks; idx += threads) {
      const int buf = idx / (kKeys * Shape::kPadChunks), rem = idx % (kKeys * Shape::kPadChunks);
      const int row = rem / Shape::kPadChunks, c = Shape::kChunks + rem % Shape::kPadChunks;
      *reinterpret_cast<uint4*>(smem + buf * Shape::kTileElems + row * Shape::kLd + c * 8) = make_uint4(0, 0, 0, 0);
    }
  }
}

// The warp's 16 Q rows (rows 16 warp .. of the tile at qs) as the A fragments of every k-step.
template <int D>
__device__ __forceinline__ void loadQFragments(uint32_t (&qf)[TileShape<D>::kKS][4], const __nv_bfloat16* qs, int warp, int lane) {
  using Shape = TileShape<D>;
#pragma unroll
  for (int kk = 0; kk < Shape::kKS; kk++) {
    mma::ldmatrixX4(qf[kk], qs + (warp * 16 + mma::aRow(lane)) * Shape::kLd + kk * 16 + mma::aCol(lane));
  }
}

// sc = Q K^T for the tile's 64 keys at kS.
template <int D>
__device__ __forceinline__ void tileScores(float (&sc)[TileShape<D>::kNK][4], const uint32_t (&qf)[TileShape<D>::kKS][4],
                                           const __nv_bfloat16* kS, int lane) {
  using Shape = TileShape<D>;
#pragma unroll
  for (int n = 0; n < Shape::kNK; n++) sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.f;
#pragma unroll
  for (int kk = 0; kk < Shape::kKS; kk++) {
#pragma unroll
    for (int np = 0; np < Shape::kNK / 2; np++) {
      uint32_t b[4];
      mma::ldmatrixX4(b, kS + (np * 16 + mma::kRow(lane)) * Shape::kLd + kk * 16 + mma::kCol(lane));
      mma::mmaBf16(sc[2 * np], qf[kk], b[0], b[1]);
      mma::mmaBf16(sc[2 * np + 1], qf[kk], b[2], b[3]);
    }
  }
}

// The online softmax of one tile's scores, per row in the log2 domain (m is scaled; the scale is positive, so the raw
// maximum gives it and each exponent is one FMA): sc becomes the tile's probabilities against the running maximum,
// and l and o are rescaled to it. The 4 lanes of a quad share a row: row reductions are two xor-shuffles; l stays
// this lane's partial sum (alpha is the same on the quad) and is reduced once at the end (storeRows).
template <int D>
__device__ __forceinline__ void tileSoftmax(float (&sc)[TileShape<D>::kNK][4], float (&m)[2], float (&l)[2],
                                           float (&o)[TileShape<D>::kNT][4], float qScale) {
  using Shape = TileShape<D>;
#pragma unroll
  for (int rr = 0; rr < 2; rr++) {
    float mx = -INFINITY;
#pragma unroll
    for (int n = 0; n < Shape::kNK; n++) mx = fmaxf(mx, fmaxf(sc[n][2 * rr], sc[n][2 * rr + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float mNew = fmaxf(m[rr], mx * qScale);
    const float mUse = mNew == -INFINITY ? 0.f : mNew;  // a row with no key yet: exps of -inf, not NaN
    const float alpha = exp2f(m[rr] - mUse);
    m[rr] = mNew;
    float sum = 0.f;
#pragma unroll
    for (int n = 0; n < Shape::kNK; n++) {
      sc[n][2 * rr] = exp2f(fmaf(sc[n][2 * rr], qScale, -mUse));
      sc[n][2 * rr + 1] = exp2f(fmaf(sc[n][2 * rr + 1], qScale, -mUse));
      sum += sc[n][2 * rr] + sc[n][2 * rr + 1];
    }
    l[rr] = l[rr] * alpha + sum;
#pragma unroll
    for (int n = 0; n < Shape::kNT; n++) {
      o[n][2 * rr] *= alpha;
      o[n][2 * rr + 1] *= alpha;
    }
  }
}

// O += P V for the tile's 64 keys at vS, 16 keys a k-step.
template <int D>
__device__ __forceinline__ void tileValues(float (&o)[TileShape<D>::kNT][4], const float (&sc)[TileShape<D>::kNK][4],
                                          const __nv_bfloat16* vS, int lane) {
  using Shape = TileShape<D>;
#pragma unroll
  for (int kk = 0; kk < Shape::kNK / 2; kk++) {
    uint32_t pa[4];
    mma::pFragment(pa, sc[2 * kk], sc[2 * kk + 1]);
#pragma unroll
    for (int np = 0; np < Shape::kNT / 2; np++) {
      uint32_t b[4];
      mma::ldmatrixX4Trans(b, vS + (kk * 16 + mma::vRow(lane)) * Shape::kLd + np * 16 + mma::vCol(lane));
      mma::mmaBf16(o[2 * np], pa, b[0], b[1]);
      mma::mmaBf16(o[2 * np + 1], pa, b[2], b[3]);
    }
  }
}

// Normalizes the warp's rows and stores them: the lane's bf16 pairs (dims 8n + 2t, +1) of its two rows (accumulator
// rows lane/4 and lane/4 + 8 of the warp's 16) at outRow(r) for block rows r below `rows`; padded dims are not
// written. A row with no key at all gives zeros, as the cpu reference.
template <int D, typename OutRow>
__device__ __forceinline__ void storeRows(const float (&o)[TileShape<D>::kNT][4], const float (&l)[2], int warp, int lane,
                                          int rows, OutRow outRow) {
#pragma unroll
  for (int rr = 0; rr < 2; rr++) {
    float sum = l[rr];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = sum > 0.f ? 1.f / sum : 0.f;
    const int r = warp * 16 + mma::accRow(lane, 2 * rr);
    if (r >= rows) continue;
    __nv_bfloat16* out = outRow(r);
#pragma unroll
    for (int n = 0; n < D / 8; n++) {
      const int d = n * 8 + mma::accCol(lane, 2 * rr);
      *reinterpret_cast<uint32_t*>(out + d) = mma::packBf16(o[n][2 * rr] * inv, o[n][2 * rr + 1] * inv);
    }
  }
}

}  // namespace attn
}  // namespace iris
