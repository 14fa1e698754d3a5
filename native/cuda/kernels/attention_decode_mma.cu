// Decode attention on the tensor cores: one query a sequence over its paged KV cache, bf16, head dims 64 and 128, 1 to
// 8 q heads a KV head (GQA). Chosen over attention_decode.cu (CUDA cores) for G >= 2 by the rule, or as
// setDecodeAttentionTensorCores forces (attention.cu's dispatch).
//
// Why: a decode step is a memory stream (each key and value row read once for the G q heads of its KV head), but
// neither kernel before this one reaches it. attention_decode.cu scores a key with one lane's serial chain of G x D
// multiply-adds (Nsight at batch 1: ~2,650 instructions a warp, one every 9.3 cycles); attention_mma.cu (prefill)
// puts G real rows in a block of 64, leaves 3 of its 4 warps idle at decode and walks a (sequence, KV head)'s keys
// tile by tile in one block. Measured on the H200 (Qwen2.5-VL-3B, Hq 16, Hk 2, D 128, 400 keys): batch 1 5.8-6.6 µs,
// batch 64 20.7 µs (tensor-core prefill kernel) and 27.5 µs (decode kernel).
//
// Floors at ~4.2 TB/s (KV bytes = sequences x keys x Hk x D x 2 B x 2 for K and V), Qwen2.5-VL-3B at 400 keys:
//   batch 1:   0.82 MB -> 0.2 µs: latency-bound (launch, the page-table read, the row reads, the merge: ~3 round
//              trips of ~1 µs). Predicted ~4 µs; measured 6.59 (7e8645d), 7.03 with the block shapes as templates
//              (0efc7b5: same registers; not explained).
//   batch 64:  26.2 MB -> 6.2 µs.
//   batch 512: 210 MB  -> 49.5 µs (the sixth session wrote 105 MB and 25 µs: K and V were counted once). Measured
//              62.2 µs with the 4-warp blocks (7e8645d), 60.6 with a warp of three stages a pair (0efc7b5: 82% of the
//              floor; the 4-warp blocks 63.0 in the same run).
//
// The products are transposed: keys are the M rows of m16n8k16 and the KV head's q heads its N = 8 columns
//   S^T = K Q^T   (16 keys x 8 heads; A = K tile via ldmatrix, B = Q^T held in registers for the whole block),
//   O^T = V^T P^T (16 dims x 8 heads; A = V^T via ldmatrix.trans, B = P^T from S^T's accumulators by movmatrix),
// so the G <= 8 heads fill the 8 columns, where with the heads as M rows (Q as A) rows G..15 would waste half of every
// mma and of the output accumulators (64 fp32 registers for D = 128 against 32 here). A lane holds heads 2t, 2t+1 in
// both products (t = lane % 4), so the softmax's rescaling of O^T stays in the lane.
//
// A block of W warps (1, 2 or 4) owns one (sequence, KV head, split of the keys). Each warp takes its own 16-key tiles
// of the split (tiles w, w + W, ...) and streams them through S shared stages of its own (2 to 4) with cp.async (S - 1
// tiles landing while one is multiplied; a page-table read a tile further ahead), so warps meet only at the end: no
// block barrier in the loop. The rule (BlockShape, below): 4 warps of 2 stages while the pairs fit one wave of them,
// a warp of 3 stages a pair past it; setDecodeAttentionMmaWarps / Stages force any. The four warps' (m, l, O) combine in shared memory; splits merge as attention_decode.cu's do
// (attention_splits.cuh: the last split block to arrive merges them). The grid depends on the batch and the launch
// bound (maxKvLen, the context length in a captured graph), never on a KV length. Launched as a dependent of the
// KV store (which writes Q and each sequence's newest K and V row): the lengths, the first tiles' page-table reads and
// their copies of the older rows overlap it.
#include <algorithm>
#include <cstdlib>

#include "attention_splits.cuh"
#include "cluster.cuh"
#include "dependent_launch.cuh"
#include "float_io.cuh"
#include "mma_frag.cuh"

namespace iris {

namespace {

using mma::accCol;
using mma::accRow;

constexpr int kTileKeys = 16;  // a warp tile: the M rows of S^T
constexpr int kHeadCols = 8;   // the N columns: a KV head's q heads, G <= 8
// A split holds at least two tiles a warp of the widest block (a short sequence's keys over few blocks, not a warp a
// block) and a multiple of a tile beyond (the warps' tiles balance to within one). Two, not one: at batch 1 over
// 400 keys (Qwen2.5-VL-3B on the H200, 5175a3c) four splits of 128 keys took 6.46 µs against 6.84-7.02 for seven of
// 64 (the merge of more partial states and the blocks' fixed costs outweigh the shorter splits); long sequences
// split as before (4,096 keys: 32 of 128).
constexpr int kMinSplitKeys = 8 * kTileKeys;
// A cluster's splits' least keys (setDecodeAttentionClusterSplitKeys, for sweeps; 0: kMinSplitKeys): with a merge in
// shared memory, more and shorter splits may pay where the workspace's merge of more states did not.
int clusterSplitKeys = 0;
// Blocks a multiprocessor the splits aim at (one wave of the 4-warp blocks of two stages: 68 KB of shared memory at
// D = 128, three fit the H200's 228 KB), whatever the block shape: the workspace holds their states.
constexpr int kResidentBlocks = 3;
static_assert(kResidentBlocks <= decode_splits::kMaxBlocksPerSM, "the splits' workspace holds this kernel's states");

// W warps a block, each streaming its tiles through S shared stages of its own (S - 1 tiles in flight while one is
// multiplied).
template <int D, int W, int S>
struct DecodeMmaShape {
  static_assert(W >= 1 && W <= 4 && S >= 2 && S <= 4, "1 to 4 warps (a split's least keys), 2 to 4 stages (the queue)");
  static constexpr int kLd = D + 8;            // shared row stride (bf16): 16 extra bytes, ldmatrix conflict-free
  static constexpr int kChunks = D / 8;        // 16-byte pieces of a row
  static constexpr int kTileElems = kTileKeys * kLd;
  static constexpr int kWarpElems = S * 2 * kTileElems;  // a stage: K tile, then V tile
  static constexpr size_t kTileBytes = size_t(W) * kWarpElems * 2;
  // The warps' combine reuses the stages: m, l and a weight a (warp, head), a sum a head, the split flag (padded to 8
  // floats), then D output sums a (warp, head).
  static constexpr int kCombineHeader = 3 * W * kHeadCols + 2 * kHeadCols;
  static constexpr size_t kCombineBytes = (size_t(kCombineHeader) + size_t(W) * kHeadCols * D) * sizeof(float);
  // A cluster's merge (clusterSize > 1) keeps the block's partial states after the combine: m, l and D sums a head.
  static constexpr size_t kMergeBytes = kCombineBytes + size_t(kHeadCols) * (D + 2) * sizeof(float);
  static constexpr size_t kSharedBytes = kTileBytes > kMergeBytes ? kTileBytes : kMergeBytes;
};

// A split's keys when `keys` are spread over `count` splits: whole tiles, at least `least`.
__device__ __forceinline__ int splitLength(int keys, int count, int least) {
  const int rounded = ((keys + count - 1) / count + kTileKeys - 1) / kTileKeys * kTileKeys;
  return rounded > least ? rounded : least;
}
// The splits of `length` keys that hold some of `keys` (one at least: with no key, it writes the zeros).
__device__ __forceinline__ int splitsWithKeys(int keys, int length) { return keys > length ? (keys + length - 1) / length : 1; }

// The register bound of every shape is the 4-warp block's at three a multiprocessor (170 a thread).
template <int D, int W, int S>
__global__ void __launch_bounds__(W * 32, 12 / W)
    decodeAttentionMmaKernel(AttentionArgs a, int splits, int clusterSize, int clusterMinKeys, float* workspace,
                             unsigned* arrived) {
  using Shape = DecodeMmaShape<D, W, S>;
  constexpr int LD = Shape::kLd, KS = D / 16;  // k-steps of S^T, and 16-dim m-tiles of O^T
  constexpr int kRowsPerCopy = 32 / Shape::kChunks, kCopies = kTileKeys / kRowsPerCopy;
  // All shared memory is the dynamic buffer (the split flag included: the cpu emulation holds it as one array).
  extern __shared__ __align__(16) unsigned char decodeMmaShared[];
  const int s = blockIdx.z, kv = blockIdx.y, split = blockIdx.x;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int group = a.Hq / a.Hk;
  const int row = a.queryStart[s];
  if (a.queryStart[s + 1] - row < 1) return;  // a sequence without a query this step (uniform over its blocks)
  const int kvLen = a.kvLens[s], pos = kvLen - 1;
  const int lo = a.chunkSize > 0 && pos > 0 ? pos - pos % a.chunkSize : 0;
  const int keys = kvLen > lo ? kvLen - lo : 0;
  // Only the first `active` splits hold keys: the others leave at once and the merge reads the active ones alone;
  // one active split writes the output itself (no keys at all: split 0 writes zeros, as the cpu reference).
  int partLen = splitLength(keys, splits, kMinSplitKeys), active = splitsWithKeys(keys, partLen);
  // Launched in clusters of clusterSize splits: a sequence whose active splits fit the first cluster spreads its keys
  // over that cluster's blocks (at least clusterMinKeys a split: at kMinSplitKeys, the same splits as without
  // clusters) and merges them there, through the blocks' shared memory (the first block reads the others' states),
  // rather than through the workspace and the arrival count (a global atomic's round trip, then the states' reads
  // from L2). Uniform over a cluster.
  bool clusterMerge = false;
  if (clusterSize > 1 && active <= clusterSize) {
    const int clusterLen = splitLength(keys, clusterSize, clusterMinKeys), clusterActive = splitsWithKeys(keys, clusterLen);
    if (clusterActive > 1) partLen = clusterLen, active = clusterActive, clusterMerge = true;
  }
  if (split >= active) {
    if (clusterMerge && split < clusterSize) {  // no keys, but the cluster's barriers count every thread of it
      releaseNext();  // nothing to wait for: the dependent may launch once the blocks with keys have waited
      clusterSync();
      clusterSync();
    }
    return;
  }
  float* partial = active > 1 && !clusterMerge ? workspace : nullptr;
  const int kLo = lo + split * partLen, kHi = min(kvLen, kLo + partLen);
  const int tiles = kHi > kLo ? (kHi - kLo + kTileKeys - 1) / kTileKeys : 0;
  const int warpTiles = tiles > warp ? (tiles - warp + W - 1) / W : 0;  // uniform over the warp

  // The slot of this lane's key (lane % 16) of the warp's i-th tile; -1: past the split, or on a page not there.
  auto slotOf = [&](int i) {
    const int p = kLo + (warp + i * W) * kTileKeys + lane % kTileKeys;
    if (i >= warpTiles || p >= kHi) return -1;
    const int page = a.pageTable[size_t(s) * a.maxPages + p / a.pageSize];
    const long long at = (long long)page * a.pageSize + p % a.pageSize;
    return page >= 0 && at < a.numSlots ? int(at) : -1;
  };
  // The lengths and the first tiles' slots are the step's inputs, which the kernel ahead (the KV store, this kernel
  // its dependent) does not write: read before waiting for it. Of K and V that kernel writes one row a sequence, the
  // key at `pos` (a decode step's one query); the older rows were written by earlier steps. So the first S tiles'
  // copies go out before the wait too, all but that row, which the warp holding it loads itself after the wait: the
  // cache's round trip overlaps the kernel ahead instead of following it. Q, which it writes, is read after.
  int slotFirst[S];
#pragma unroll
  for (int j = 0; j < S; j++) slotFirst[j] = slotOf(j);
  int slotNext = slotOf(S);
  // Which of this warp's first S tiles holds the key at `pos` (-1: none; uniform over the warp), its row in that tile
  // and its slot.
  int newestTile = -1, newestRow = -1, newestSlot = -1;
#pragma unroll
  for (int j = 0; j < S; j++) {
    const int first = kLo + (warp + j * W) * kTileKeys;
    if (j < warpTiles && pos >= first && pos < first + kTileKeys) {
      newestTile = j;
      newestRow = pos - first;
      newestSlot = __shfl_sync(0xffffffffu, slotFirst[j], newestRow);
    }
  }

  const __nv_bfloat16* kCache = static_cast<const __nv_bfloat16*>(a.k);
  const __nv_bfloat16* vCache = static_cast<const __nv_bfloat16*>(a.v);
  __nv_bfloat16* stages = reinterpret_cast<__nv_bfloat16*>(decodeMmaShared) + warp * Shape::kWarpElems;
  // The warp's tile of keys with slots `slot` (lane j < 16: key j's) into stage st, as one cp.async group (empty
  // without a tile, so the groups count one a tile); absent keys are zero rows. Each copy instruction moves whole rows
  // (kRowsPerCopy of them, 16 bytes a lane); row `skip` (before the wait: the key the kernel ahead writes) is left to
  // the plain loads after the wait. Returns the tile's keys that are there, a bit a key.
  auto issue = [&](int st, bool any, int slot, int skip) {
    unsigned present = 0;
    if (any) {
      __nv_bfloat16* kDst = stages + st * 2 * Shape::kTileElems;
      __nv_bfloat16* vDst = kDst + Shape::kTileElems;
      const int c = lane % Shape::kChunks;
#pragma unroll
      for (int i = 0; i < kCopies; i++) {
        const int j = i * kRowsPerCopy + lane / Shape::kChunks;
        const int slotJ = __shfl_sync(0xffffffffu, slot, j);
        if (j == skip) continue;
        const size_t src = slotJ >= 0 ? (size_t(slotJ) * a.Hk + kv) * D + c * 8 : 0;
        mma::cpAsync16(kDst + j * LD + c * 8, kCache + src, slotJ >= 0);
        mma::cpAsync16(vDst + j * LD + c * 8, vCache + src, slotJ >= 0);
      }
      present = __ballot_sync(0xffffffffu, slot >= 0) & 0xffffu;
    }
    mma::cpAsyncCommit();
    return present;
  };
  // The S tiles in flight's present keys, 16 bits a tile: the oldest in the low bits.
  unsigned long long presentQueue = 0;
#pragma unroll
  for (int j = 0; j < S; j++) {
    presentQueue |= (unsigned long long)issue(j, warpTiles > j, slotFirst[j], j == newestTile ? newestRow : -1) << (16 * j);
  }
  waitForPrevious();
  releaseNext();
  // The key at `pos`, now written: its K and V rows into their stage with plain loads and stores (a row absent from
  // the cache is zeros, as cp.async leaves one), ordered before the tile's use by the warp barrier that precedes it.
  if (newestTile >= 0) {
    __nv_bfloat16* kDst = stages + newestTile * 2 * Shape::kTileElems + newestRow * LD;
    for (int c = lane; c < 2 * Shape::kChunks; c += 32) {
      const bool value = c >= Shape::kChunks;
      const int piece = c % Shape::kChunks;
      const __nv_bfloat16* cache = value ? vCache : kCache;
      const uint4 row = newestSlot >= 0 ? __ldg(reinterpret_cast<const uint4*>(cache + (size_t(newestSlot) * a.Hk + kv) * D) + piece)
                                        : make_uint4(0, 0, 0, 0);
      *reinterpret_cast<uint4*>(kDst + (value ? Shape::kTileElems : 0) + piece * 8) = row;
    }
  }

  // Q^T as the B operand of each k-step: b0 = dims 2t, 2t+1 of head g, b1 = dims 2t+8, 2t+9 (heads past G: zeros).
  // Kept as bf16; the scale (and log2 e) is applied to the fp32 scores.
  uint32_t qb[KS][2];
  {
    const uint32_t* q = reinterpret_cast<const uint32_t*>(static_cast<const __nv_bfloat16*>(a.q) + (size_t(row) * a.Hq + size_t(kv) * group + g) * D);
#pragma unroll
    for (int kk = 0; kk < KS; kk++) {
      qb[kk][0] = g < group ? __ldg(q + kk * 8 + t) : 0u;
      qb[kk][1] = g < group ? __ldg(q + kk * 8 + 4 + t) : 0u;
    }
  }
  const float qScale = a.scale * 1.4426950408889634f;

  // Per lane: heads 2t + h (h = 0, 1): the running max (log2 domain), this lane's part of the sum, and O^T's
  // accumulators (o[mt][e]: dim 16 mt + accRow(lane, e), head 2t + e % 2).
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, o[KS][4];
#pragma unroll
  for (int mt = 0; mt < KS; mt++) o[mt][0] = o[mt][1] = o[mt][2] = o[mt][3] = 0.f;

  for (int i = 0; i < warpTiles; i++) {
    const int st = i % S;
    mma::cpAsyncWait<S - 1>();  // tile i has landed for this lane's copies (tiles i + 1 .. i + S - 1 may not have)
    __syncwarp();           // ... and for the warp's
    const __nv_bfloat16* kS = stages + st * 2 * Shape::kTileElems;
    const __nv_bfloat16* vS = kS + Shape::kTileElems;

    // S^T: two accumulators over alternate k-steps halve the chain of dependent mma.
    float sc[2][4] = {};
#pragma unroll
    for (int kk = 0; kk < KS; kk++) {
      uint32_t ka[4];
      mma::ldmatrixX4(ka, kS + mma::aRow(lane) * LD + kk * 16 + mma::aCol(lane));
      mma::mmaBf16(sc[kk % 2], ka, qb[kk][0], qb[kk][1]);
    }

    // Online softmax of heads 2t, 2t+1 over keys accRow(lane, e): this lane's two keys, then the eight lanes of the
    // same t (xor 4, 8, 16). Absent keys (past the split, off the cache) are -inf. l stays this lane's part (alpha is
    // alike over those lanes) and is summed once at the end.
    const unsigned present = unsigned(presentQueue) & 0xffffu;
    float p[4];
#pragma unroll
    for (int e = 0; e < 4; e++) p[e] = present >> accRow(lane, e) & 1u ? (sc[0][e] + sc[1][e]) * qScale : -INFINITY;
#pragma unroll
    for (int h = 0; h < 2; h++) {
      float mx = fmaxf(p[h], p[h + 2]);
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 4));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 8));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 16));
      const float mNew = fmaxf(m[h], mx);
      const float mUse = mNew == -INFINITY ? 0.f : mNew;  // no key yet: exps of -inf, not NaN
      const float alpha = exp2f(m[h] - mUse);
      m[h] = mNew;
      p[h] = exp2f(p[h] - mUse);
      p[h + 2] = exp2f(p[h + 2] - mUse);
      l[h] = l[h] * alpha + p[h] + p[h + 2];
#pragma unroll
      for (int mt = 0; mt < KS; mt++) o[mt][h] *= alpha, o[mt][h + 2] *= alpha;
    }

    // P^T as B: keys g (and g + 8) x heads 2t, 2t+1 packed are an 8x8 fragment of P^T's keys 0-7 (8-15) x heads;
    // transposed, lane (g, t) holds keys 2t, 2t+1 of head g: b0 (b1 for keys 8-15).
    const uint32_t pb0 = mma::movmatrixTrans(mma::packBf16(p[0], p[1]));
    const uint32_t pb1 = mma::movmatrixTrans(mma::packBf16(p[2], p[3]));
#pragma unroll
    for (int mt = 0; mt < KS; mt++) {
      uint32_t va[4];
      mma::ldmatrixX4Trans(va, vS + mma::vtRow(lane) * LD + mt * 16 + mma::vtCol(lane));
      mma::mmaBf16(o[mt], va, pb0, pb1);
    }
    __syncwarp();  // every lane is done with stage st before it is refilled
    presentQueue = presentQueue >> 16 | (unsigned long long)issue(st, i + S < warpTiles, slotNext, -1) << (16 * (S - 1));
    slotNext = slotOf(i + S + 1);
  }
  mma::cpAsyncWaitAll();  // nothing may be in flight into the stages the combine reuses

  // The block's warps combined in shared memory (reusing the stages): per (warp, head) m, l and O, then a weight.
#pragma unroll
  for (int h = 0; h < 2; h++) {
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 4);
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 8);
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 16);
  }
  __syncthreads();  // every warp is done with its stages
  const size_t firstRow = size_t(row) * a.Hq + size_t(kv) * group;  // the output row of head 0
  float* wm = reinterpret_cast<float*>(decodeMmaShared);  // [warp][head]
  float* wl = wm + W * kHeadCols;
  float* wWeight = wl + W * kHeadCols;
  float* headSum = wWeight + W * kHeadCols;               // [head], then the split flag
  int& lastSplit = *reinterpret_cast<int*>(headSum + kHeadCols);
  float* wo = wm + Shape::kCombineHeader;                 // [warp][head][D]
  float* clusterStates = wo + W * kHeadCols * D;          // [head][D + 2]: a cluster's merge
  // Where this block's partial state of a head goes: the cluster's merge, the workspace (the last split block to
  // arrive merges), or nowhere (one split writes the output itself).
  auto stateOf = [&](int head) -> float* {
    if (clusterMerge) return clusterStates + head * (D + 2);
    return partial == nullptr ? nullptr : partial + decode_splits::stateOffset(firstRow + head, splits, split, D);
  };
  if (g == 0) {
#pragma unroll
    for (int h = 0; h < 2; h++) wm[warp * kHeadCols + 2 * t + h] = m[h], wl[warp * kHeadCols + 2 * t + h] = l[h];
  }
#pragma unroll
  for (int mt = 0; mt < KS; mt++)
#pragma unroll
    for (int e = 0; e < 4; e++) wo[(warp * kHeadCols + accCol(lane, e)) * D + mt * 16 + accRow(lane, e)] = o[mt][e];
  __syncthreads();
  const int tid = threadIdx.x;
  if (tid < group) {
    float mMax = -INFINITY;
#pragma unroll
    for (int w = 0; w < W; w++) mMax = fmaxf(mMax, wm[w * kHeadCols + tid]);
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < W; w++) {
      const float mw = wm[w * kHeadCols + tid];
      const float weight = mw == -INFINITY ? 0.f : exp2f(mw - mMax);
      wWeight[w * kHeadCols + tid] = weight;
      sum += weight * wl[w * kHeadCols + tid];
    }
    headSum[tid] = sum;
    if (float* state = stateOf(tid)) state[0] = mMax, state[1] = sum;
  }
  __syncthreads();
  __nv_bfloat16* out = static_cast<__nv_bfloat16*>(a.out);
  for (int idx = tid; idx < group * D; idx += W * 32) {
    const int head = idx / D, dim = idx % D;
    float sumO = 0.f;
#pragma unroll
    for (int w = 0; w < W; w++) sumO = fmaf(wWeight[w * kHeadCols + head], wo[(w * kHeadCols + head) * D + dim], sumO);
    if (float* state = stateOf(head)) {
      state[2 + dim] = sumO;
    } else {
      const float sum = headSum[head];
      out[(firstRow + head) * D + dim] = __float2bfloat16_rn(sum > 0.f ? sumO / sum : 0.f);
    }
  }
  if (clusterMerge) {
    clusterSync();  // every split's states are in its block's shared memory, visible to the cluster
    if (split == 0) {
      for (int head = warp; head < group; head += W) {
        const float* own = clusterStates + head * (D + 2);
        decode_splits::mergeStates<D / 32>([own](int from, int i) { return mapShared(own, from)[i]; }, active,
                                           out + (firstRow + head) * D);
      }
    }
    clusterSync();  // the first block has read the others' shared memory before they exit
    return;
  }
  if (partial == nullptr) return;

  // The last split block of this (sequence, KV head) to arrive merges the splits, a warp a head.
  if (!decode_splits::arrivedLast(arrived + size_t(s) * a.Hk + kv, active, lastSplit)) return;
  for (int head = warp; head < group; head += W) {
    decode_splits::mergeHead<D / 32>(partial + decode_splits::stateOffset(firstRow + head, splits, 0, D), active,
                                     out + (firstRow + head) * D);
  }
}

template <int D, int W, int S>
std::string launchDecodeMma(const AttentionArgs& a, int splits, int clusterSize, float* partial, unsigned* arrived) {
  const int clusterMinKeys = clusterSplitKeys > 0 ? clusterSplitKeys : kMinSplitKeys;
  using Shape = DecodeMmaShape<D, W, S>;
  static bool sharedRaised = false;
  if (!sharedRaised) {
    const std::string status = allowSharedBytes(reinterpret_cast<const void*>(decodeAttentionMmaKernel<D, W, S>), Shape::kSharedBytes,
                                                "decode attention (tensor cores)");
    if (!status.empty()) return status;
    sharedRaised = true;
  }
  const dim3 grid(unsigned(splits), unsigned(a.Hk), unsigned(a.S)), block(W * 32);
  return launchDependentCluster("cudaLaunchKernelEx (decode attention, tensor cores)", unsigned(clusterSize),
                                decodeAttentionMmaKernel<D, W, S>, grid, block, Shape::kSharedBytes, a, splits, clusterSize,
                                clusterMinKeys, partial, arrived);
}

struct BlockShape {
  int warps, stages;  // warps a block, shared stages a warp
};
// Few (sequence, KV head) pairs: four warps share a split's keys and the splits fill the multiprocessors. More pairs
// than one wave of those blocks holds (Qwen2.5-VL-3B's batch 512: 1,024 blocks in 2.6 waves, 63 µs against a 49.5 µs
// floor; a tail of the last wave, and each block's prologue of dependent length and page-table reads): a warp a pair
// with three tiles in flight (24 KB at D = 128; eight 26 KB blocks a multiprocessor, 1,056 on the H200: batch 512's
// 1,024 pairs in one wave, ~190 KB in flight a multiprocessor against the ~32 KB that cover the latency).
constexpr BlockShape kGroupShape{4, 2};
constexpr BlockShape kStreamShape{1, 3};  // {4, 2}: the 4-warp blocks at every batch, as before
// 0: the rule's; forced (setDecodeAttentionMmaWarps / Stages) for sweeps and tests: 1, 2 or 4 warps, 2 to 4 stages.
int forcedWarps = 0, forcedStages = 0;

template <int D, int W>
std::string launchWithStages(const AttentionArgs& a, int stages, int splits, int cluster, float* partial, unsigned* arrived) {
  if (stages == 4) return launchDecodeMma<D, W, 4>(a, splits, cluster, partial, arrived);
  if (stages == 3) return launchDecodeMma<D, W, 3>(a, splits, cluster, partial, arrived);
  return launchDecodeMma<D, W, 2>(a, splits, cluster, partial, arrived);
}
template <int D>
std::string launchShape(const AttentionArgs& a, BlockShape shape, int splits, int cluster, float* partial, unsigned* arrived) {
  if (shape.warps == 1) return launchWithStages<D, 1>(a, shape.stages, splits, cluster, partial, arrived);
  if (shape.warps == 2) return launchWithStages<D, 2>(a, shape.stages, splits, cluster, partial, arrived);
  return launchWithStages<D, 4>(a, shape.stages, splits, cluster, partial, arrived);
}

// -1: the rule (below); 0 / 1: forced (setDecodeAttentionTensorCores).
int tensorCoresMode = -1;

// The splits' merge in a cluster (the kernel's clusterMerge): -1 the rule, 0 / 1 forced (setDecodeAttentionClusterMerge).
// The rule leaves it off: measured slower on the H200 (session 13, dd329f9; Qwen2.5-VL-3B at batch 1, 400 keys: 4
// active splits a KV head): attention 6.18 µs against 6.08 alone, the 36-layer chain 2,020.5 µs against 2,000.8,
// split keys of 64 and 32 slower still, bench/latency.ts 454.2 against 455.2 tok/s. It had been expected to pay by
// taking the workspace merge's atomic round trip and the states' reads from L2 (~1 µs each) out of every layer's
// chain, where attention costs 8.65 µs against 6.1 alone; with either merge it costs the same there.
// IRIS_DECODE_CLUSTER_MERGE=0 / 1 sets the starting mode, so a whole run (bench/latency.ts) measures either way.
int clusterMergeFromEnvironment() {
  const char* v = std::getenv("IRIS_DECODE_CLUSTER_MERGE");
  return v == nullptr || v[0] == '\0' ? -1 : v[0] == '0' ? 0 : 1;
}
int clusterMergeMode = clusterMergeFromEnvironment();
constexpr bool kClusterMergeByRule = false;
constexpr int kMaxClusterSplits = 8;  // the portable cluster size

// The cluster size for a launch of `splits` (1: none): the largest divisor of splits up to kMaxClusterSplits, so a
// sequence whose keys fill at most that many splits merges in its first cluster, and longer ones (more active splits)
// through the workspace.
int clusterSizeFor(long long splits) {
  const bool on = clusterMergeMode < 0 ? kClusterMergeByRule : clusterMergeMode == 1;
  if (!on || splits < 2 || computeCapability() < 90) return 1;
  for (int size = kMaxClusterSplits; size >= 2; size--) {
    if (splits % size == 0) return size;
  }
  return 1;
}

}  // namespace

void setDecodeAttentionTensorCores(int mode) { tensorCoresMode = mode < 0 ? -1 : mode > 0 ? 1 : 0; }
void setDecodeAttentionMmaWarps(int warps) { forcedWarps = warps == 1 || warps == 2 || warps == 4 ? warps : 0; }
void setDecodeAttentionMmaStages(int stages) { forcedStages = stages >= 2 && stages <= 4 ? stages : 0; }
void setDecodeAttentionClusterMerge(int mode) { clusterMergeMode = mode < 0 ? -1 : mode > 0 ? 1 : 0; }
void setDecodeAttentionClusterSplitKeys(int keys) {
  clusterSplitKeys = keys >= kTileKeys && keys <= 4 * kMinSplitKeys && keys % kTileKeys == 0 ? keys : 0;
}

// The rule: every grouped head layout (G >= 2: Qwen2.5-VL's 8, Scout's 5), at every batch. Made the default before
// its first GPU run, on the floors and predictions above against 6.6 / 20.7 µs measured for the kernels it replaces
// (batch 1 / 64); the H200's sweep of the forced kernels (bench/decode-layers-cuda.ts) confirms or reverts it.
// G = 1 stays on the CUDA cores: one of the 8 columns would be used.
bool decodeAttentionOnTensorCores(const AttentionArgs& a) {
  if (tensorCoresMode == 0 || !attentionDecodeMmaApplies(a)) return false;
  return tensorCoresMode == 1 || a.Hq / a.Hk >= 2;
}

// Every architecture built (sm_80 and later) grants the 68 KB of shared memory of D = 128 (sm_89 the least: 99 KB).
// G = 1 works too (one of the 8 columns): whether it beats the CUDA cores there is for the rule to say.
bool attentionDecodeMmaApplies(const AttentionArgs& a) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(a.k) | reinterpret_cast<uintptr_t>(a.v);
  const int group = a.Hk > 0 ? a.Hq / a.Hk : 0;
  return a.paged && a.maxQueryLen == 1 && a.dtype == kBF16 && (a.D == 64 || a.D == 128) && group >= 1 &&
         group <= kHeadCols && bits % 16 == 0 && reinterpret_cast<uintptr_t>(a.q) % 4 == 0;
}

std::string attentionDecodeMma(const AttentionArgs& a) {
  // One wave of resident blocks: a split only while the (sequence, KV head) pairs leave multiprocessors free, no more
  // splits than the launch bound's keys fill at kMinSplitKeys each; forced ones (tests, benchmarks) within what the
  // workspace holds (attention_splits.cuh).
  const long long pairs = (long long)a.S * a.Hk, target = (long long)kResidentBlocks * multiprocessorCount();
  const long long byKeys = (a.maxKvLen + kMinSplitKeys - 1) / kMinSplitKeys;
  const long long splits = decode_splits::clampSplits(pairs < target ? target / pairs : 1, byKeys, pairs, target, a.forceSplits);
  float* partial = nullptr;
  unsigned* arrived = nullptr;
  if (splits > 1) {
    std::string status = decode_splits::workspace(&partial, &arrived);
    if (!status.empty()) return status;
  }
  BlockShape shape = pairs > target ? kStreamShape : kGroupShape;
  if (forcedWarps > 0) shape.warps = forcedWarps;
  if (forcedStages > 0) shape.stages = forcedStages;
  const int cluster = clusterSizeFor(splits);
  if (a.D == 64) return launchShape<64>(a, shape, int(splits), cluster, partial, arrived);
  return launchShape<128>(a, shape, int(splits), cluster, partial, arrived);
}

}  // namespace iris
