// The vision towers' windowed attention (Qwen2.5-VL: 28 of 32 blocks attend within windows of 64 patches, 32 and 16
// at a picture's edges) straight from the fused q|k|v product, q and k rotated in shared memory: one kernel where
// attention_qkv.cu otherwise rotates q and k in place (one pass over them) and then runs attention_mma.cu.
//
// Why (H200, Qwen2.5-VL-3B over 14 pictures: 18,144 rows, 16 heads of 80, 350 windows; bench/vision-layers-cuda.ts,
// ncu at 978aed2): the rotation took 54 us a block and the attention 91, against a floor of 43.5 us for the bytes
// both must move (q, k, v read once, 139.3 MB; the output written, 46.4 MB). attention_mma.cu gives a block one
// (window, head): its Q and its single K/V tile land, then the block computes and exits, so each multiprocessor's
// ~3 blocks spend most of their time waiting on one round of copies. Here a block owns a window and a run of heads,
// the next head's Q, K and V in flight while it computes one, and the window's angles are read once for its heads.
// Measured: 89.2 us against 144.9 (rotation and attention apart). By heads a block: 1, 2, 4, 8, 16 took 106.0, 91.8,
// 89.2, 99.2, 121.2 us. The first version, which read the angles with plain loads (a serial round trip each, before
// any head), took 126.7: the angles now come by cp.async with head 0. Still 2x the floor: two blocks a
// multiprocessor (88 KB of shared memory each) keep too few copies in flight.
//
// Each head is one tile of attention_tile.cuh's math, the same instructions as attention_mma.cu's single-tile
// windows, and the rotation is rotate_pair.cuh's, as the rotary kernels': the outputs are the bits of the rotary
// kernel followed by attention_mma.cu (tests/cuda/attention-mma-emulation.cc and the GPU tests check it).
#include "attention_tile.cuh"
#include "float_io.cuh"
#include "rotate_pair.cuh"

namespace iris {

namespace {

// Heads in shared memory at once: one multiplied, the next in flight. Three would leave one block a multiprocessor.
constexpr int kWindowStages = 2;

// Heads a block walks by default: 4 of Qwen's 16 gives 1,400 blocks over 14 pictures (~5 waves of the 264
// resident), enough to even out the tail, and hides each block's first copies behind three heads of work.
// setAttentionWindowHeads forces another count (the sweep of bench/vision-layers-cuda.ts).
constexpr int kWindowHeadsPerBlock = 4;

// q and k's rotation: cos and sin F32 [T, R] (rows of the product), pairs (i, i + R) (neox) or (2i, 2i + 1)
// (interleaved) of each head's first 2R dims, R a multiple of 4.
struct WindowRotary {
  const float* cos = nullptr;
  const float* sin = nullptr;
  int R = 0;
  bool interleaved = false;
};

// The kernel's shared memory at head dim D: two stages of Q, K and V tiles, then a window's cos [64, R] and sin [64, R].
constexpr size_t windowTileBytes(int D) {
  return size_t(3 * kWindowStages) * attn::kKeys * attn::tileRowElems(D) * sizeof(__nv_bfloat16);
}
constexpr size_t windowSharedBytes(int D, int R) { return windowTileBytes(D) + size_t(2) * attn::kKeys * R * sizeof(float); }

template <int D>
struct WindowShape : attn::TileShape<D> {
  static constexpr int kBuffers = 3 * kWindowStages;  // Q, K, V a stage
  static constexpr size_t kTileBytes = windowTileBytes(D);  // the angles follow the tiles
};

// ==== kernel ====

// Pack p of one shared row rotated in place by the pack's four angles: neox's dims 4p..4p+3 with their partners R
// further, or interleaved's pairs (8p + 2i, 8p + 2i + 1).
__device__ __forceinline__ void rotatePack(__nv_bfloat16* row, int p, int R, bool interleaved, const float4& c, const float4& sn) {
  const float cs[4] = {c.x, c.y, c.z, c.w}, ss[4] = {sn.x, sn.y, sn.z, sn.w};
  float x1[4], x2[4];
  if (interleaved) {
    uint32_t* pairs = reinterpret_cast<uint32_t*>(row + 8 * p);
    for (int i = 0; i < 4; i++) mma::unpackBf16(pairs[i], x1[i], x2[i]);
    for (int i = 0; i < 4; i++) rotatePair(x1[i], x2[i], cs[i], ss[i]);
    for (int i = 0; i < 4; i++) pairs[i] = mma::packBf16(x1[i], x2[i]);
    return;
  }
  uint32_t* first = reinterpret_cast<uint32_t*>(row + 4 * p);
  uint32_t* second = reinterpret_cast<uint32_t*>(row + R + 4 * p);
  mma::unpackBf16(first[0], x1[0], x1[1]);
  mma::unpackBf16(first[1], x1[2], x1[3]);
  mma::unpackBf16(second[0], x2[0], x2[1]);
  mma::unpackBf16(second[1], x2[2], x2[3]);
  for (int i = 0; i < 4; i++) rotatePair(x1[i], x2[i], cs[i], ss[i]);
  first[0] = mma::packBf16(x1[0], x1[1]);
  first[1] = mma::packBf16(x1[2], x1[3]);
  second[0] = mma::packBf16(x2[0], x2[1]);
  second[1] = mma::packBf16(x2[2], x2[3]);
}

// The first `len` rows of a stage's Q and K tiles rotated in place, a row's pack of each with the same angles (cos
// and sin [len, R] in shared memory). kSteps: the packs a row (R / 4) where known when compiling (the whole head
// rotated, R = D / 2: the divisions by it are multiplies), 0 where R says it at run time.
template <int kSteps>
__device__ __forceinline__ void rotateQK(__nv_bfloat16* qTile, __nv_bfloat16* kTile, int ld, const float* cosS,
                                         const float* sinS, int R, bool interleaved, int len, int tid, int threads) {
  const int steps = kSteps > 0 ? kSteps : R / 4;
  for (int idx = tid; idx < len * steps; idx += threads) {
    const int j = idx / steps, p = idx % steps;
    const float4 c = reinterpret_cast<const float4*>(cosS + j * R)[p];
    const float4 sn = reinterpret_cast<const float4*>(sinS + j * R)[p];
    rotatePack(qTile + j * ld, p, R, interleaved, c, sn);
    rotatePack(kTile + j * ld, p, R, interleaved, c, sn);
  }
}

// Grid: (segments, head runs of headsPerBlock). Each segment at most 64 rows; Hq == Hk (a vision tower's heads).
template <int D>
__global__ void __launch_bounds__(attn::kWarps * 32, 2) windowAttentionKernel(AttentionArgs a, WindowRotary rot, int headsPerBlock) {
  using Shape = WindowShape<D>;
  constexpr int LD = Shape::kLd, NT = Shape::kNT, KS = Shape::kKS, NK = Shape::kNK;
  extern __shared__ __align__(16) unsigned char smemRaw[];
  __nv_bfloat16* smem = reinterpret_cast<__nv_bfloat16*>(smemRaw);
  float* cosS = reinterpret_cast<float*>(smemRaw + Shape::kTileBytes);
  float* sinS = cosS + attn::kKeys * rot.R;
  // Stage st: Q, K, V at tiles 3 st, 3 st + 1, 3 st + 2.
  auto tile = [&](int st, int which) { return smem + (3 * st + which) * Shape::kTileElems; };

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int s = blockIdx.x;
  const int hBegin = int(blockIdx.y) * headsPerBlock, hEnd = min(a.Hq, hBegin + headsPerBlock);
  // A segment longer than the call's maxQueryLen (the caller's promise, which nothing checks on the device) is cut to
  // the tile rather than rotated or copied past shared memory; attention_mma.cu likewise covers only maxQueryLen's
  // query chunks.
  const int qBegin = a.queryStart[s], len = min(a.queryStart[s + 1] - qBegin, attn::kKeys);
  if (len <= 0 || hBegin >= hEnd) return;
  const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(a.q);
  const __nv_bfloat16* k = static_cast<const __nv_bfloat16*>(a.k);
  const __nv_bfloat16* v = static_cast<const __nv_bfloat16*>(a.v);
  const size_t qRow = a.qRow > 0 ? a.qRow : size_t(a.Hq) * D, kRow = a.kRow > 0 ? a.kRow : size_t(a.Hk) * D;
  const size_t vRow = a.vRow > 0 ? a.vRow : size_t(a.Hk) * D;

  attn::zeroPaddedDims<D>(smem, Shape::kBuffers, tid, blockDim.x);

  // Head h's Q, K and V rows of the window -> stage st; rows past the window are zeros.
  auto loadHead = [&](int st, int h) {
    for (int idx = tid; idx < attn::kKeys * Shape::kChunks; idx += blockDim.x) {
      const int j = idx / Shape::kChunks, c = idx % Shape::kChunks;
      const bool valid = j < len;
      const size_t row = size_t(qBegin + (valid ? j : 0)), col = size_t(h) * D + c * 8;
      mma::cpAsync16(tile(st, 0) + j * LD + c * 8, q + (valid ? row * qRow + col : 0), valid);
      mma::cpAsync16(tile(st, 1) + j * LD + c * 8, k + (valid ? row * kRow + col : 0), valid);
      mma::cpAsync16(tile(st, 2) + j * LD + c * 8, v + (valid ? row * vRow + col : 0), valid);
    }
  };
  // The window's angles (cos and sin [len, R], contiguous rows of the tables) copied with head 0: once for its heads.
  for (int idx = tid; idx < len * rot.R / 4; idx += blockDim.x) {
    mma::cpAsync16(cosS + 4 * idx, rot.cos + size_t(qBegin) * rot.R + 4 * idx, true);
    mma::cpAsync16(sinS + 4 * idx, rot.sin + size_t(qBegin) * rot.R + 4 * idx, true);
  }
  loadHead(0, hBegin);
  mma::cpAsyncCommit();
  if (hBegin + 1 < hEnd) loadHead(1, hBegin + 1);
  mma::cpAsyncCommit();

  const float qScale = a.scale * 1.4426950408889634f;
  const bool masked = len < attn::kKeys || a.causal;
  for (int h = hBegin; h < hEnd; h++) {
    const int st = (h - hBegin) % kWindowStages;
    mma::cpAsyncWaitOne();  // head h has landed for this thread's copies (head h + 1 may still be in flight)
    __syncthreads();        // ... and for everyone's; the angles too
    if (2 * rot.R == D) {
      rotateQK<D / 8>(tile(st, 0), tile(st, 1), LD, cosS, sinS, rot.R, rot.interleaved, len, tid, blockDim.x);
    } else {
      rotateQK<0>(tile(st, 0), tile(st, 1), LD, cosS, sinS, rot.R, rot.interleaved, len, tid, blockDim.x);
    }
    __syncthreads();
    if (warp * 16 < len) {  // warps past a short window's rows skip the math, whole warps at once
      uint32_t qf[KS][4];
      attn::loadQFragments<D>(qf, tile(st, 0), warp, lane);
      float sc[NK][4];
      attn::tileScores<D>(sc, qf, tile(st, 1), lane);
      if (masked) {
#pragma unroll
        for (int n = 0; n < NK; n++) {
#pragma unroll
          for (int e = 0; e < 4; e++) {
            const int key = n * 8 + mma::accCol(lane, e), i = min(warp * 16 + mma::accRow(lane, e), len - 1);
            if (key >= (a.causal ? i + 1 : len)) sc[n][e] = -INFINITY;
          }
        }
      }
      float o[NT][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
#pragma unroll
      for (int n = 0; n < NT; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
      attn::tileSoftmax<D>(sc, m, l, o, qScale);
      attn::tileValues<D>(o, sc, tile(st, 2), lane);
      attn::storeRows<D>(o, l, warp, lane, len, [&](int r) {
        return static_cast<__nv_bfloat16*>(a.out) + (size_t(qBegin + r) * a.Hq + h) * D;
      });
    }
    __syncthreads();  // every warp is done with stage st
    if (h + kWindowStages < hEnd) loadHead(st, h + kWindowStages);
    mma::cpAsyncCommit();
  }
  mma::cpAsyncWaitAll();  // nothing may be in flight into shared memory when the block exits
}

// tests/cuda/attention-mma-emulation.cc compiles everything above this line as plain C++ and runs the kernel on
// the cpu; what follows launches on the GPU.
#ifndef IRIS_MMA_EMULATION

int windowMode = -1;   // -1: the rule (wherever it applies); 0: never; 1: wherever it applies
int windowHeads = 0;   // heads a block; 0: kWindowHeadsPerBlock

template <int D>
std::string launchWindows(const AttentionArgs& a, const WindowRotary& rot) {
  static bool sharedRaised = false;
  if (!sharedRaised) {  // for the most angles a head dim can have (R = D / 2)
    const std::string status = allowSharedBytes(reinterpret_cast<const void*>(windowAttentionKernel<D>), windowSharedBytes(D, D / 2),
                                                "window attention");
    if (!status.empty()) return status;
    sharedRaised = true;
  }
  const int heads = windowHeads > 0 ? windowHeads : kWindowHeadsPerBlock;
  const dim3 grid(unsigned(a.S), unsigned((a.Hq + heads - 1) / heads));
  windowAttentionKernel<D><<<grid, attn::kWarps * 32, windowSharedBytes(D, rot.R), stream()>>>(a, rot, heads);
  return launchStatus("window attention");
}


#endif  // IRIS_MMA_EMULATION

}  // namespace

#ifndef IRIS_MMA_EMULATION

void setAttentionWindows(int mode) { windowMode = mode < 0 ? -1 : mode > 0 ? 1 : 0; }

void setAttentionWindowHeads(int heads) { windowHeads = heads > 0 && heads <= 64 ? heads : 0; }

bool attentionWindowsApply(const AttentionArgs& a, const float* cos, const float* sin, int R) {
  // What the tensor-core kernel needs (dtype, head dim, 16-byte rows and pointers), then the windows' own: one tile a
  // segment, no GQA, the rotation in packs of four angles (16-byte aligned tables), and the larger shared footprint.
  const bool rotationOk = cos != nullptr && sin != nullptr && R > 0 && R % 4 == 0 && 2 * R <= a.D &&
                          (reinterpret_cast<uintptr_t>(cos) | reinterpret_cast<uintptr_t>(sin)) % 16 == 0;
  const size_t shared = windowSharedBytes(a.D, R);
  return windowMode != 0 && attentionMmaApplies(a) && !a.paged && a.Hq == a.Hk && a.Hq > 0 && a.S > 0 &&
         a.maxQueryLen <= attn::kKeys && a.chunkSize == 0 && rotationOk && shared <= sharedBytesPerBlockLimit();
}

std::string attentionWindows(const AttentionArgs& a, const float* cos, const float* sin, int R, bool interleaved) {
  const WindowRotary rot{cos, sin, R, interleaved};
  switch (a.D) {
    case 16: return launchWindows<16>(a, rot);
    case 32: return launchWindows<32>(a, rot);
    case 64: return launchWindows<64>(a, rot);
    case 80: return launchWindows<80>(a, rot);
    case 88: return launchWindows<88>(a, rot);
    case 96: return launchWindows<96>(a, rot);
    case 128: return launchWindows<128>(a, rot);
    default: return "window attention: head dim " + std::to_string(a.D) + " has no kernel";
  }
}

#endif  // IRIS_MMA_EMULATION

}  // namespace iris
