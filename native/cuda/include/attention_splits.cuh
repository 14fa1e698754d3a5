// Decode attention's splits of a sequence's keys over blocks, shared by the two decode kernels (attention_decode.cu on
// the CUDA cores, attention_decode_mma.cu on the tensor cores): the workspace of partial states, the arrival count
// that finds the last split block of a (sequence, KV head), and that block's exact merge of the splits.
//
// A partial state is one query head's result over one split's keys: its running max m (log2 domain, -inf: no key),
// its sum l of exp2(score - m), then D unnormalized output sums. Only a launch of more than one split uses them; the
// grid never depends on a KV length (a captured graph replays one grid for every length), so each kernel derives from
// the sequence's own length how many splits hold keys (`active`) and the merge reads those alone.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>

#include "float_io.cuh"

namespace iris::decode_splits {

constexpr int kMaxSplits = 32;  // the merge holds one split per lane
constexpr int kMaxG = 8;        // q heads a block at most
constexpr int kMaxD = 128;
// The most blocks a multiprocessor either kernel aims for when it splits (attention_decode.cu 2,
// attention_decode_mma.cu 3). Each splits only while its (sequence, KV head) blocks are fewer than that times the
// multiprocessors, into at most twice as many blocks (forced splits included), so the workspace below holds every
// launch's states.
constexpr int kMaxBlocksPerSM = 3;

// A launch's splits: `wanted` (the kernel's own choice for its `pairs` of blocks a split, each a (sequence, KV head) or
// a part of one), no more than the launch bound's keys fill (`byKeys`: maxKvLen over a split's least keys); forced
// ones (tests, benchmarks) within what the workspace holds (twice `target`, the kernel's blocks in flight); 1 to
// kMaxSplits.
inline long long clampSplits(long long wanted, long long byKeys, long long pairs, long long target, int forced) {
  long long splits = std::min(wanted, byKeys);
  if (forced > 0) splits = pairs < target ? std::min<long long>(forced, 2 * target / pairs) : 1;
  return std::max<long long>(1, std::min<long long>(splits, kMaxSplits));
}

// Where the partial state of query head `outRow` (row * Hq + head) for split `split` of `splits` starts.
__host__ __device__ inline size_t stateOffset(size_t outRow, int splits, int split, int D) {
  return (outRow * size_t(splits) + size_t(split)) * size_t(D + 2);
}

// The partial states and arrival counters, allocated once at the most any split launch of either kernel needs and
// never freed (captured graphs keep their addresses). Blocks that split number under 2 x kMaxBlocksPerSM x SMs, each
// of at most kMaxG query heads; their (sequence, KV head) counters under kMaxBlocksPerSM x SMs. The counters start at
// zero and the last block of each launch puts its own back, so the kernels share them in stream order. inline: one
// workspace for the process, whichever kernel asks first.
inline std::string workspace(float** partial, unsigned** arrived) {
  static std::mutex mutex;
  static float* states = nullptr;
  static unsigned* counters = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (states == nullptr) {
    const size_t blocks = size_t(kMaxBlocksPerSM) * multiprocessorCount();
    const size_t floats = 2 * blocks * kMaxG * (kMaxD + 2);
    std::string status = cudaStatus(cudaMalloc(reinterpret_cast<void**>(&states), floats * sizeof(float)), "cudaMalloc (decode attention splits)");
    if (status.empty()) status = cudaStatus(cudaMalloc(reinterpret_cast<void**>(&counters), blocks * sizeof(unsigned)), "cudaMalloc (decode attention counters)");
    if (status.empty()) status = cudaStatus(cudaMemsetAsync(counters, 0, blocks * sizeof(unsigned), stream()), "cudaMemsetAsync (decode attention counters)");
    if (!status.empty()) return status;
  }
  *partial = states;
  *arrived = counters;
  return "";
}

// counter += 1 at the GPU scope with release and acquire semantics, returning the old count: the writes ordered
// before it (the block's, through the barrier ahead of the call) are visible to whoever sees the arrival, and the
// caller sees everything the earlier arrivals released. What a fence before and after a plain atomic gave, without
// the two fences (the pattern of CUTLASS's semaphores: a barrier, then one thread's release). The cpu emulation, which
// compiles this for the host, keeps the fences.
__device__ __forceinline__ unsigned arriveAcqRel(unsigned* counter) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
  unsigned old;
  asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], 1;" : "=r"(old) : "l"(counter) : "memory");
  return old;
#else
  __threadfence();
  const unsigned old = atomicAdd(counter, 1u);
  __threadfence();
  return old;
#endif
}

// Called by every thread of a split block once its partial states are written: true in all of them for the last of
// the `active` blocks of its counter to arrive, which also puts the counter back to zero for the next launch. `last`
// is a flag in the block's shared memory. The barrier orders the block's writes before thread 0's release; the one
// after it carries thread 0's acquire (every block's states) to the threads that merge.
__device__ __forceinline__ bool arrivedLast(unsigned* counter, int active, int& last) {
  __syncthreads();
  if (threadIdx.x == 0) {
    last = arriveAcqRel(counter) == unsigned(active - 1) ? 1 : 0;
    if (last) *counter = 0;
  }
  __syncthreads();
  return last != 0;
}

// One warp merges one query head's `active` partial states into its D = 32 x DPL outputs, lane j taking dims j*DPL ..
// j*DPL + DPL - 1: outputs weighted by exp2(m - max m), over the weighted sum of l. `state(split, i)` reads float i of
// a split's state (m, l, then the D output sums): from the workspace (mergeHead), or from the cluster's blocks' shared
// memory (attention_decode_mma.cu); the same arithmetic either way, so the same bits.
template <int DPL, class State>
__device__ __forceinline__ void mergeStates(State state, int active, __nv_bfloat16* out) {
  const int lane = threadIdx.x % 32;
  const float mSplit = lane < active ? state(lane, 0) : -INFINITY;
  const float lSplit = lane < active ? state(lane, 1) : 0.f;
  // The first four splits' outputs are read with their maxima (a short sequence's keys are all in them).
  float x[4][DPL];
#pragma unroll
  for (int u = 0; u < 4; u++)
#pragma unroll
    for (int d = 0; d < DPL; d++) x[u][d] = u < active ? state(u, 2 + lane * DPL + d) : 0.f;
  const float mMax = warpMax(mSplit);
  const float weight = mSplit == -INFINITY ? 0.f : exp2f(mSplit - mMax);
  const float sum = warpSum(weight * lSplit);
  float o[DPL];
#pragma unroll
  for (int d = 0; d < DPL; d++) o[d] = 0.f;
  // Splits without a key (m = -inf) have weight 0 and are skipped (their outputs are zeros anyway).
  for (int sp0 = 0; sp0 < active; sp0 += 4) {
    float w[4];
#pragma unroll
    for (int u = 0; u < 4; u++) {
      w[u] = __shfl_sync(0xffffffffu, weight, (sp0 + u) & 31);
      if (sp0 + u >= active) w[u] = 0.f;
      if (sp0 == 0) continue;  // read above
#pragma unroll
      for (int d = 0; d < DPL; d++) x[u][d] = w[u] > 0.f ? state(sp0 + u, 2 + lane * DPL + d) : 0.f;
    }
#pragma unroll
    for (int u = 0; u < 4; u++)
#pragma unroll
      for (int d = 0; d < DPL; d++) o[d] = w[u] > 0.f ? fmaf(w[u], x[u][d], o[d]) : o[d];
  }
#pragma unroll
  for (int d = 0; d < DPL; d++) out[lane * DPL + d] = __float2bfloat16_rn(sum > 0.f ? o[d] / sum : 0.f);
}

// mergeStates over the workspace's states of one query head (`part`: its first split's), read past L1 (other blocks
// wrote them).
template <int DPL>
__device__ __forceinline__ void mergeHead(const float* part, int active, __nv_bfloat16* out) {
  constexpr int D = 32 * DPL;
  mergeStates<DPL>([part](int split, int i) { return __ldcg(part + split * (D + 2) + i); }, active, out);
}

}  // namespace iris::decode_splits
