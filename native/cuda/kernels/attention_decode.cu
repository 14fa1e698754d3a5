// Decode attention: one query per sequence over its paged KV cache, bf16, head dims 32, 64 or 128, up to 8 q heads
// a KV head. attention() hands such calls here (attention.cu's tiled kernel serves the rest).
//
// A decode step reads each key and value once for all G q heads of its KV head, so the kernel is a memory stream:
// a block of 4 warps owns one (sequence, KV head, split of the keys). L lanes share a key (L = 1 or 4, the template
// argument): per iteration a warp's 32 / L keys, lane j loads the (j % L)-th share of key j / L's row (16-byte loads,
// the shares interleaved so the L lanes read the queries from different banks) and, through the slots its lanes
// share, the 32 / L value rows a dim slice per lane, before any math, so all the iteration's row reads are in flight
// at once (the tiled kernel waited on one tile at a time, ~4 µs each). Scores take the G queries from shared memory;
// the L partial dot products of a key are summed by shuffles among its lanes. The online softmax keeps a per-lane sum
// (one lane of each key adds it) and a warp-wide max. The warps of a block are combined in shared memory; splits are
// merged by the last block of their (sequence, KV head) to arrive. The grid depends on the split count alone, never
// on a KV length: one captured decode graph serves every length, each sequence dividing its own keys among the
// splits. Launched as a dependent of the KV store before it (dependent_launch.cuh): the lengths and the first keys'
// page-table reads overlap the store.
#include <algorithm>
#include <cfloat>

#include "attention_splits.cuh"
#include "dependent_launch.cuh"
#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kWarps = 4;
// A split's length is a multiple of the keys a block covers an iteration: 32 / L a warp (L lanes a key).
__host__ __device__ constexpr int splitKeys(int lanesPerKey) { return kWarps * 32 / lanesPerKey; }
using decode_splits::kMaxG;
constexpr float kLog2e = 1.4426950408889634f;

// A lane's slice of DPL bf16 values of a row, kept packed (two a register) until used: 32 keys' slices stay in
// registers across the score math. Aligned loads of 8, 4 or 2 bytes (D % 32 == 0, rows 16-byte aligned).
template <int DPL>
struct Slice {
  static constexpr int kWords = (DPL + 1) / 2;
  unsigned w[kWords];

  __device__ __forceinline__ void load(const __nv_bfloat16* p) {
    if constexpr (DPL == 4) {
      const uint2 raw = __ldg(reinterpret_cast<const uint2*>(p));
      w[0] = raw.x, w[1] = raw.y;
    } else if constexpr (DPL == 2) {
      w[0] = __ldg(reinterpret_cast<const unsigned*>(p));
    } else {
      w[0] = __ldg(reinterpret_cast<const unsigned short*>(p));
    }
  }
  __device__ __forceinline__ void clear() {
#pragma unroll
    for (int i = 0; i < kWords; i++) w[i] = 0u;
  }
  // Value d of the slice: the low half of a word first (little-endian bf16 pairs).
  __device__ __forceinline__ float at(int d) const {
    const unsigned bits = (d % 2 == 0 ? w[d / 2] << 16 : w[d / 2] & 0xffff0000u);
    return __uint_as_float(bits);
  }
};

// The warp's max of a value its L lanes of a key hold alike (offsets below L would compare a lane with itself).
template <int L>
__device__ __forceinline__ float keysMax(float v) {
#pragma unroll
  for (int o = 16; o >= L; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// A block serves G query heads of one KV head: the group's Hq / Hk heads, or a part of them (`parts` blocks a KV
// head, see groupParts). L lanes share a key (see lanesPerKey); a lane's value slice is DPL dims whatever L is.
template <int G, int DPL, int L>
__global__ void __launch_bounds__(kWarps * 32) decodeAttentionKernel(AttentionArgs a, int splits, int parts, float* workspace,
                                                                     unsigned* arrived) {
  constexpr int D = DPL * 32;
  constexpr int kKeys = 32 / L;                  // keys of one warp iteration
  constexpr int kSplitKeys = splitKeys(L);       // a split's length is a multiple of this
  constexpr int kShares = D / 8 / L;             // a lane's 16-byte pieces of its key's row
  static_assert(L == 1 || L == 2 || L == 4, "lanes a key: 1, 2 or 4");
  static_assert(kShares >= 1 && kShares * L * 8 == D, "a key's row splits into whole 16-byte pieces over its lanes");
  __shared__ __align__(16) float qs[G][D];    // the queries, scaled into the log2 domain
  __shared__ float ps[kWarps][kKeys][G];      // each warp's probabilities of its keys
  __shared__ float wm[kWarps][G], wl[kWarps][G];
  __shared__ float wacc[kWarps][G][D];        // each warp's unnormalized outputs
  __shared__ int lastSplit;
  const int s = blockIdx.z, kv = blockIdx.y / parts, split = blockIdx.x;
  const int head0 = blockIdx.y * G;  // this block's first query head: kv * (G * parts) + its part * G
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int key = lane / L, share = lane % L;  // this lane's key of a warp iteration, and its share of the row
  const int row = a.queryStart[s];
  if (a.queryStart[s + 1] - row < 1) return;  // a sequence without a query this step (uniform over its blocks)
  const int kvLen = a.kvLens[s], pos = kvLen - 1;
  const int lo = a.chunkSize > 0 ? pos - pos % a.chunkSize : 0;
  const int perSplit = (kvLen - lo + splits - 1) / splits;
  const int partLen = (perSplit + kSplitKeys - 1) / kSplitKeys * kSplitKeys;
  const int kLo = lo + split * partLen, kHi = min(kvLen, kLo + partLen);
  // Only the first `active` splits hold keys (a short sequence in a grid launched for the context length): the
  // others leave at once, and the merge waits for and reads the active ones alone; one active split writes the output.
  const int active = (kvLen - lo + partLen - 1) / partLen;
  if (split >= active) return;
  float* partial = active > 1 ? workspace : nullptr;
  // The slot of key p (-1: past the split, or on a page that is not there).
  auto slotOf = [&](int p) {
    if (p >= kHi) return -1;
    const int page = a.pageTable[size_t(s) * a.maxPages + p / a.pageSize];
    const long long at = (long long)page * a.pageSize + p % a.pageSize;
    return page >= 0 && at < a.numSlots ? int(at) : -1;
  };
  // Everything so far and the first keys' slots come from the step's inputs, which the kernel ahead (the KV store,
  // this kernel launched as its dependent) does not write: read before waiting for it.
  const int firstBase = kLo + warp * kKeys;
  const int firstSlot = slotOf(firstBase + key);
  waitForPrevious();
  releaseNext();
  const __nv_bfloat16* kCache = static_cast<const __nv_bfloat16*>(a.k);
  const __nv_bfloat16* vCache = static_cast<const __nv_bfloat16*>(a.v);
  const size_t rowStride = size_t(a.Hk) * D;
  // An iteration's reads, all issued before the first is used: this lane's share of key `key`'s row (16-byte pieces
  // share, share + L, ...), and its dim slice of each of the warp's keys (their slots shared across the warp).
  uint4 kRaw[kShares];
  Slice<DPL> vSlice[kKeys];
  auto issue = [&](int slot) {
    const uint4* kRow = reinterpret_cast<const uint4*>(kCache + size_t(slot < 0 ? 0 : slot) * rowStride + size_t(kv) * D) + share;
#pragma unroll
    for (int i = 0; i < kShares; i++) kRaw[i] = slot >= 0 ? __ldg(kRow + i * L) : make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int j = 0; j < kKeys; j++) {
      const int slotJ = __shfl_sync(0xffffffffu, slot, j * L);
      if (slotJ >= 0) vSlice[j].load(vCache + size_t(slotJ) * rowStride + size_t(kv) * D + lane * DPL);
      else vSlice[j].clear();
    }
  };
  int slot = firstSlot;
  issue(slot);  // the first keys' reads go out with the queries'
  const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(a.q) + (size_t(row) * a.Hq + head0) * D;
  const float qScale = a.scale * kLog2e;
  for (int i = threadIdx.x; i < G * D; i += blockDim.x) qs[i / D][i % D] = __bfloat162float(q[i]) * qScale;
  __syncthreads();

  float m[G], l[G], acc[G][DPL];
#pragma unroll
  for (int g = 0; g < G; g++) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int d = 0; d < DPL; d++) acc[g][d] = 0.f;
  }

  for (int base = firstBase; base < kHi; base += kSplitKeys) {
    float score[G];
#pragma unroll
    for (int g = 0; g < G; g++) score[g] = 0.f;
#pragma unroll
    for (int i = 0; i < kShares; i++) {
      const int dim0 = 8 * (i * L + share);  // the piece's first dim
      const __nv_bfloat162* k2 = reinterpret_cast<const __nv_bfloat162*>(&kRaw[i]);
      float kf[8];
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const float2 f = __bfloat1622float2(k2[e]);
        kf[2 * e] = f.x, kf[2 * e + 1] = f.y;
      }
#pragma unroll
      for (int g = 0; g < G; g++) {
        const float4 q0 = *reinterpret_cast<const float4*>(&qs[g][dim0]);
        const float4 q1 = *reinterpret_cast<const float4*>(&qs[g][dim0 + 4]);
        score[g] = fmaf(q0.x, kf[0], fmaf(q0.y, kf[1], fmaf(q0.z, kf[2], fmaf(q0.w, kf[3], score[g]))));
        score[g] = fmaf(q1.x, kf[4], fmaf(q1.y, kf[5], fmaf(q1.z, kf[6], fmaf(q1.w, kf[7], score[g]))));
      }
    }
    // The L lanes of a key sum their partial products (lanes of a key adjacent); the sums come out bitwise alike in
    // all L lanes (a butterfly of commutative additions), so every lane of a key holds the same score and prob.
#pragma unroll
    for (int o = 1; o < L; o <<= 1)
#pragma unroll
      for (int g = 0; g < G; g++) score[g] += __shfl_xor_sync(0xffffffffu, score[g], o);
#pragma unroll
    for (int g = 0; g < G; g++) {
      const float mine = slot >= 0 ? score[g] : -INFINITY;
      const float mNew = fmaxf(m[g], keysMax<L>(mine));
      // No valid key yet (mNew = -inf): nothing to rescale and nothing to add.
      const float alpha = mNew == -INFINITY ? 1.f : exp2f(m[g] - mNew);
      const float prob = slot >= 0 ? exp2f(mine - mNew) : 0.f;
      // A key counts once in the sums: its first lane adds it (the warp's sum is taken over all lanes at the end).
      l[g] = l[g] * alpha + (share == 0 ? prob : 0.f);
      m[g] = mNew;
      if (share == 0) ps[warp][key][g] = prob;
#pragma unroll
      for (int d = 0; d < DPL; d++) acc[g][d] *= alpha;
    }
    __syncwarp();
#pragma unroll
    for (int j = 0; j < kKeys; j++) {
#pragma unroll
      for (int g = 0; g < G; g++) {
        const float pj = ps[warp][j][g];
#pragma unroll
        for (int d = 0; d < DPL; d++) acc[g][d] = fmaf(pj, vSlice[j].at(d), acc[g][d]);
      }
    }
    __syncwarp();  // ps is rewritten next iteration
    if (base + kSplitKeys < kHi) issue(slot = slotOf(base + kSplitKeys + key));
  }

  // The block's four warps combined: warp w takes heads w, w + 4.
#pragma unroll
  for (int g = 0; g < G; g++) {
    const float sum = warpSum(l[g]);
    if (lane == 0) wm[warp][g] = m[g], wl[warp][g] = sum;
#pragma unroll
    for (int d = 0; d < DPL; d++) wacc[warp][g][lane * DPL + d] = acc[g][d];
  }
  __syncthreads();
  for (int g = warp; g < G; g += kWarps) {
    float mMax = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; w++) mMax = fmaxf(mMax, wm[w][g]);
    float weight[kWarps], sum = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; w++) {
      weight[w] = wm[w][g] == -INFINITY ? 0.f : exp2f(wm[w][g] - mMax);
      sum += weight[w] * wl[w][g];
    }
    const size_t outRow = size_t(row) * a.Hq + head0 + g;
    float* part = partial == nullptr ? nullptr : partial + decode_splits::stateOffset(outRow, splits, split, D);
    if (part != nullptr && lane == 0) part[0] = mMax, part[1] = sum;
#pragma unroll
    for (int d = 0; d < DPL; d++) {
      const int dim = lane * DPL + d;
      float o = 0.f;
#pragma unroll
      for (int w = 0; w < kWarps; w++) o = fmaf(weight[w], wacc[w][g][dim], o);
      if (part != nullptr) part[2 + dim] = o;
      else static_cast<__nv_bfloat16*>(a.out)[outRow * D + dim] = __float2bfloat16_rn(sum > 0.f ? o / sum : 0.f);
    }
  }
  if (partial == nullptr) return;

  // The last split block of this (sequence, KV head) to arrive merges the splits.
  if (!decode_splits::arrivedLast(arrived + size_t(s) * gridDim.y + blockIdx.y, active, lastSplit)) return;
  for (int g = warp; g < G; g += kWarps) {
    const size_t outRow = size_t(row) * a.Hq + head0 + g;
    decode_splits::mergeHead<DPL>(partial + decode_splits::stateOffset(outRow, splits, 0, D), active,
                                  static_cast<__nv_bfloat16*>(a.out) + outRow * D);
  }
}

// Blocks wanted in flight: two of 4 warps a multiprocessor (within what the splits' workspace is sized for).
constexpr int kBlocksPerSM = 2;
static_assert(kBlocksPerSM <= decode_splits::kMaxBlocksPerSM, "the splits' workspace holds this kernel's states");
int targetBlocks() {
  return kBlocksPerSM * multiprocessorCount();
}

template <int G>
std::string launchG(const AttentionArgs& a, int splits, int parts, int lanes, float* partial, unsigned* arrived) {
  const dim3 grid(unsigned(splits), unsigned(a.Hk * parts), unsigned(a.S)), block(kWarps * 32);
  const char* what = "cudaLaunchKernelEx (decode attention)";
  switch (a.D) {
    case 32: return launchDependent(what, decodeAttentionKernel<G, 1, 1>, grid, block, 0, a, splits, parts, partial, arrived);
    case 64:
      if (lanes == 4) return launchDependent(what, decodeAttentionKernel<G, 2, 4>, grid, block, 0, a, splits, parts, partial, arrived);
      return launchDependent(what, decodeAttentionKernel<G, 2, 1>, grid, block, 0, a, splits, parts, partial, arrived);
    default:
      if (lanes == 4) return launchDependent(what, decodeAttentionKernel<G, 4, 4>, grid, block, 0, a, splits, parts, partial, arrived);
      return launchDependent(what, decodeAttentionKernel<G, 4, 1>, grid, block, 0, a, splits, parts, partial, arrived);
  }
}

// > 0: the blocks a KV head's query group is split over (1, 2, 4 or 8), for measuring (setDecodeAttentionParts).
int forcedParts = 0;
// > 0: the lanes a key (1 or 4), for measuring (setDecodeAttentionLanesPerKey).
int forcedLanes = 0;

// Blocks a KV head's group of query heads is split over. A lane holds its key's whole row and scores it against
// every head of the block's group (G x D multiply-adds a key), so with eight heads a group (Qwen2.5-VL-3B) an
// iteration over 32 keys is a long serial chain for each warp: measured on the H200 at batch 1, 4.5 µs an
// iteration against about 1 µs for its loads. Two blocks of four heads halve the chain and read the keys twice,
// the second time mostly from L2: at batch 1 and 400 keys 11.55 -> 7.02 µs. With many sequences the machine is
// already full and the second read only costs: at batch 64, 27.48 -> 33.94 µs. So only while the (sequence, KV
// head) pairs fill at most a quarter of the multiprocessors. (Measured with one lane a key.)
// At 7.0 µs the two blocks of four are still the chain of one warp: Nsight Compute (386eafc, batch 1, 400 keys)
// counts ~2,650 instructions a working warp, issued one every 9.3 cycles (one warp a scheduler, nothing to hide
// behind), on 16 of the 128 blocks (4 splits hold keys). Halving the heads a block halves most of that chain (the
// scores and the value sums), and the keys a third and fourth time come from L2: so four blocks of two heads
// while their pairs still fill at most a quarter of the multiprocessors as well.
int groupParts(int group, long long pairs) {
  if (forcedParts > 0) return group % forcedParts == 0 ? forcedParts : 1;
  if (group != 8) return 1;  // measured with Qwen2.5-VL-3B's group of eight only
  int parts = 1;
  while (group / parts > 2 && 4 * pairs * parts <= multiprocessorCount()) parts *= 2;
  return parts;
}

// Lanes that share a key: 1 or 4. With one, a lane scores its key's whole row against the block's G heads, a serial
// chain of G x D multiply-adds a warp iteration of 32 keys (about 3.7 µs at G = 4, D = 128 on the H200), and a
// split holds a multiple of 128 keys: at 400 keys only 4 splits of a (sequence, KV head) hold keys (Qwen2.5-VL-3B
// at batch 1: 16 blocks, 64 warps on 132 multiprocessors, 7.0 µs a layer). Four lanes a key quarter the chain and
// the multiple (32 keys: 13 splits hold keys at 400), at the price of a quarter of the bytes in flight a warp
// iteration and, where a split holds more than 32 keys, four times the iterations (a dependent round trip each).
// Measured on the H200 (bench/decode-layers-cuda.ts and decode-layers-scout.ts, 25d8ad1): four lanes lost everywhere
// it was tried. Qwen2.5-VL-3B at batch 1 and 400 keys: 7.13 µs with one lane, 7.58 with four (13 splits merged
// instead of 4: the time is the launch, the page-table and row round trips and the merge, not the chain); batch 64:
// 27.5 against 34.6; Scout at batch 1 (G = 5): 11.52 against 12.77. So one lane, four only when forced (the knob
// stays for measuring other shapes). Head dim 32 keeps one lane a key (not instantiated with more).
int lanesPerKey(int D) {
  if (D == 32) return 1;
  return forcedLanes > 0 ? forcedLanes : 1;
}

}  // namespace

bool attentionDecodeApplies(const AttentionArgs& a) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(a.k) | reinterpret_cast<uintptr_t>(a.v);
  const int group = a.Hk > 0 ? a.Hq / a.Hk : 0;
  return a.paged && a.maxQueryLen == 1 && a.dtype == kBF16 && (a.D == 32 || a.D == 64 || a.D == 128) &&
         group >= 1 && group <= kMaxG && bits % 16 == 0;
}

void setDecodeAttentionParts(int parts) {
  forcedParts = parts == 1 || parts == 2 || parts == 4 || parts == 8 ? parts : 0;
}

void setDecodeAttentionLanesPerKey(int lanes) {
  forcedLanes = lanes == 1 || lanes == 4 ? lanes : 0;
}

std::string attentionDecode(const AttentionArgs& a) {
  const int group = a.Hq / a.Hk, parts = groupParts(group, (long long)a.S * a.Hk);
  const long long pairs = (long long)a.S * a.Hk * parts;
  const int lanes = lanesPerKey(a.D);
  // Enough blocks for targetBlocks, no more than the launch bound's keys fill (a split holds a multiple of
  // splitKeys(lanes)); forced ones (tests, and benchmarks of what splitting buys) within what the workspace holds.
  const long long byKeys = (a.maxKvLen + splitKeys(lanes) - 1) / splitKeys(lanes);
  const long long splits = decode_splits::clampSplits((targetBlocks() + pairs - 1) / pairs, byKeys, pairs, targetBlocks(), a.forceSplits);
  float* partial = nullptr;
  unsigned* arrived = nullptr;
  if (splits > 1) {
    std::string status = decode_splits::workspace(&partial, &arrived);
    if (!status.empty()) return status;
  }
  switch (group / parts) {
    case 1: return launchG<1>(a, int(splits), parts, lanes, partial, arrived);
    case 2: return launchG<2>(a, int(splits), parts, lanes, partial, arrived);
    case 3: return launchG<3>(a, int(splits), parts, lanes, partial, arrived);
    case 4: return launchG<4>(a, int(splits), parts, lanes, partial, arrived);
    case 5: return launchG<5>(a, int(splits), parts, lanes, partial, arrived);
    case 6: return launchG<6>(a, int(splits), parts, lanes, partial, arrived);
    case 7: return launchG<7>(a, int(splits), parts, lanes, partial, arrived);
    default: return launchG<8>(a, int(splits), parts, lanes, partial, arrived);
  }
}

}  // namespace iris
