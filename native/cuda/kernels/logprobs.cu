// The logprob kernels over F32 rows [R, V] (V up to a 202,048-token vocabulary), one block of 1024 threads per
// row, as the cpu reference (src/runtime/cpu/logprobs.ts) computes them:
// - logSoftmax: one pass of per-thread (max, fp32 sum of exp) pairs merged across the block in float64, then one
//   writing pass; both with 16-byte accesses, four in flight per thread (a block streams a whole row alone).
// - gatherColumns: one thread per output; an id outside [0, V) gives NaN (the cpu throws; a kernel cannot).
// - topK: the K largest of a row, largest first, ties to the lower id, for any K in [1, V]. A radix select over an
//   order-preserving 32-bit key finds the K-th key in four passes of 8 bits (256-bin histograms in shared memory,
//   one per group of warps); a fifth pass, each thread over its own contiguous ids, writes the entries above
//   it and the lowest-id entries equal to it into the output row (ranked by a block scan only when some equal
//   entries must be left out); the K candidates are then sorted by (key desc, id asc) with a bitonic network, in
//   shared memory up to 4,096 candidates, in the output row itself (global memory, same block) beyond.
#include <cfloat>
#include <cstdint>

#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kRowThreads = 1024;
constexpr int kSharedSort = 4096;
constexpr int kHistogramCopies = 8;  // topK's radix histogram, one copy per group of four warps

// Calls f(j, value) for every entry of the row, each thread its own entries; 16-byte loads, four in flight per
// thread, where the row is aligned (the rows of one tensor alternate when V % 4 != 0).
template <typename F>
__device__ __forceinline__ void eachValue(const float* row, int V, F&& f) {
  const int tid = threadIdx.x, step = blockDim.x;
  int tail = 0;
  if ((reinterpret_cast<uintptr_t>(row) & 15) == 0) {
    const int V4 = V / 4;
    const float4* r4 = reinterpret_cast<const float4*>(row);
    int i = tid;
    for (; i + 3 * step < V4; i += 4 * step) {
      float4 v[4];
#pragma unroll
      for (int u = 0; u < 4; u++) v[u] = r4[i + u * step];
#pragma unroll
      for (int u = 0; u < 4; u++) {
        const int j = 4 * (i + u * step);
        f(j, v[u].x); f(j + 1, v[u].y); f(j + 2, v[u].z); f(j + 3, v[u].w);
      }
    }
    for (; i < V4; i += step) {
      const float4 v = r4[i];
      f(4 * i, v.x); f(4 * i + 1, v.y); f(4 * i + 2, v.z); f(4 * i + 3, v.w);
    }
    tail = V4 * 4;
  }
  for (int j = tail + tid; j < V; j += step) f(j, row[j]);
}

// ==== logSoftmax ====

// A partial log-sum-exp: the max of some entries and the sum of exp(entry - max) over them.
struct MaxSum {
  float max;
  double sum;
};

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  if (a.max < b.max) { const MaxSum t = a; a = b; b = t; }
  // An empty or all -inf part adds nothing (and -inf - -inf must not make a NaN).
  if (b.max == -INFINITY) return MaxSum{a.max, a.sum + b.sum};
  return MaxSum{a.max, a.sum + b.sum * exp(double(b.max) - double(a.max))};
}

__global__ void __launch_bounds__(kRowThreads, 1) logSoftmaxKernel(float* out, const float* x, int V) {
  __shared__ float maxes[32];
  __shared__ double sums[32];
  __shared__ double logSumShared;
  const size_t base = size_t(blockIdx.x) * V;
  const float* row = x + base;
  // Each thread's ~200 terms in fp32 with the fast exponential (a block streams a whole row alone: the per-entry
  // cost decides its speed); the threads' sums merge in float64. Relative error of the sum about 1e-6.
  float threadMax = -INFINITY, threadSum = 0.f;
  eachValue(row, V, [&](int, float v) {
    if (v > threadMax) {
      threadSum = threadMax == -INFINITY ? 0.f : threadSum * __expf(threadMax - v);
      threadMax = v;
    }
    // A NaN entry (never above max) makes the sum NaN, as in the cpu reference; -inf entries add nothing.
    if (v != -INFINITY || threadMax != -INFINITY) threadSum += __expf(v - threadMax);
  });
  MaxSum part{threadMax, double(threadSum)};
  for (int o = 16; o > 0; o >>= 1) {
    const MaxSum other{__shfl_xor_sync(0xffffffffu, part.max, o), __shfl_xor_sync(0xffffffffu, part.sum, o)};
    part = merge(part, other);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) { maxes[warp] = part.max; sums[warp] = part.sum; }
  __syncthreads();
  if (warp == 0) {
    part = lane < int(blockDim.x / 32) ? MaxSum{maxes[lane], sums[lane]} : MaxSum{-INFINITY, 0.0};
    for (int o = 16; o > 0; o >>= 1) {
      const MaxSum other{__shfl_xor_sync(0xffffffffu, part.max, o), __shfl_xor_sync(0xffffffffu, part.sum, o)};
      part = merge(part, other);
    }
    if (lane == 0) logSumShared = double(part.max) + log(part.sum);
  }
  __syncthreads();
  // The float64 log-sum as two floats: entry - hi - lo is within an ulp of the float64 difference, without
  // float64 conversions per entry.
  const double logSum = logSumShared;
  const float hi = float(logSum), lo = float(logSum - double(hi));
  // out may be x: every entry is read by the thread that writes it, after the block has read the whole row. Each
  // thread loads a batch of its entries before storing any (stores cannot be moved above loads that may alias).
  float* o = out + base;
  const int tid = threadIdx.x, step = blockDim.x;
  int tail = 0;
  if (((reinterpret_cast<uintptr_t>(row) | reinterpret_cast<uintptr_t>(o)) & 15) == 0) {
    const int V4 = V / 4;
    const float4* r4 = reinterpret_cast<const float4*>(row);
    float4* o4 = reinterpret_cast<float4*>(o);
    auto shift = [&](float4 v) { return make_float4(v.x - hi - lo, v.y - hi - lo, v.z - hi - lo, v.w - hi - lo); };
    int i = tid;
    for (; i + 3 * step < V4; i += 4 * step) {
      float4 v[4];
#pragma unroll
      for (int u = 0; u < 4; u++) v[u] = r4[i + u * step];
#pragma unroll
      for (int u = 0; u < 4; u++) o4[i + u * step] = shift(v[u]);
    }
    for (; i < V4; i += step) o4[i] = shift(r4[i]);
    tail = V4 * 4;
  }
  for (int j = tail + tid; j < V; j += step) o[j] = row[j] - hi - lo;
}

// ==== gatherColumns ====

__global__ void gatherColumnsKernel(float* out, const float* x, const int32_t* index, size_t total, int V, int G) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t r = i / G;
    const int id = index[i];
    out[i] = id >= 0 && id < V ? x[r * V + id] : NAN;
  }
}

// ==== topK ====

// Larger float, larger key; +0 and -0 share a key (they tie, as on the cpu); NaN sorts below everything.
__device__ __forceinline__ uint32_t orderKey(float v) {
  if (v != v) return 0u;
  const uint32_t u = v == 0.f ? 0u : __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Whether (ka, ia) comes before (kb, ib) in the output order.
__device__ __forceinline__ bool precedes(uint32_t ka, int ia, uint32_t kb, int ib) {
  return ka > kb || (ka == kb && ia < ib);
}

// Sorts n pairs by `precedes` with the bitonic network whose comparators all put the earlier pair at the lower
// index, so the virtual pairs past n (sorting last) never move and their comparators are skipped. `values` and
// `ids` live in shared or global memory; this block alone touches them (__syncthreads orders both).
__device__ void bitonicSort(float* values, int* ids, int n) {
  int size = 1;
  while (size < n) size <<= 1;
  for (int span = 2; span <= size; span <<= 1) {
    for (int step = span >> 1; step > 0; step >>= 1) {
      for (int i = threadIdx.x; i < size; i += blockDim.x) {
        // The first step of a merge compares mirrored positions; the later ones, positions `step` apart.
        const int l = step == (span >> 1) ? i ^ (span - 1) : i ^ step;
        if (l <= i || l >= n) continue;
        const float vi = values[i], vl = values[l];
        const int ii = ids[i], il = ids[l];
        if (precedes(orderKey(vl), il, orderKey(vi), ii)) {
          values[i] = vl; values[l] = vi;
          ids[i] = il; ids[l] = ii;
        }
      }
      __syncthreads();
    }
  }
}

__global__ void __launch_bounds__(kRowThreads, 1) topKKernel(float* values, int32_t* ids, const float* x, int V, int K) {
  __shared__ unsigned histogram[kHistogramCopies][256];
  __shared__ int equalTotal;  // entries whose key is the K-th key
  __shared__ uint32_t prefixShared;
  __shared__ int needShared;
  __shared__ unsigned warpCounts[32];
  __shared__ int aboveSlot, tieSlot;
  __shared__ float sortValues[kSharedSort];
  __shared__ int sortIds[kSharedSort];
  const float* row = x + size_t(blockIdx.x) * V;
  float* outValues = values + size_t(blockIdx.x) * K;
  int* outIds = ids + size_t(blockIdx.x) * K;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  // Radix select: after the pass of `shift`, the K-th key's bits above `shift` are known (prefix), and `need` of
  // the entries matching them (from the top) complete the K.
  uint32_t prefix = 0, mask = 0;
  int need = K;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < kHistogramCopies * 256; b += blockDim.x) (&histogram[0][0])[b] = 0;
    __syncthreads();
    // Logits share few high bytes: each group of warps counts into its own copy, so fewer adds meet on one bin.
    unsigned* mine = histogram[warp % kHistogramCopies];
    eachValue(row, V, [&](int, float v) {
      const uint32_t key = orderKey(v);
      if ((key & mask) == prefix) atomicAdd(&mine[(key >> shift) & 255u], 1u);
    });
    __syncthreads();
    for (int b = threadIdx.x; b < 256; b += blockDim.x) {
      unsigned total = histogram[0][b];
      for (int c = 1; c < kHistogramCopies; c++) total += histogram[c][b];
      histogram[0][b] = total;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int above = 0, digit = 255;
      for (; digit > 0; digit--) {
        const int count = int(histogram[0][digit]);
        if (above + count >= need) break;
        above += count;
      }
      prefixShared = prefix | (uint32_t(digit) << shift);
      needShared = need - above;
      equalTotal = int(histogram[0][digit]);
      aboveSlot = 0;
      tieSlot = 0;
    }
    __syncthreads();
    prefix = prefixShared;
    need = needShared;
    mask |= 255u << shift;
  }
  // prefix is now the K-th key: the K - need entries above it are all taken, and the `need` lowest-id entries
  // equal to it. Candidates go to the output row (ties after the others), then get sorted. For the ties' id order
  // each thread owns a contiguous chunk of ids (a multiple of 4 entries, read 16 bytes at a time where aligned);
  // when every equal entry is taken (the usual case) their order does not matter and the count is skipped.
  const uint32_t kth = prefix;
  const int aboveTotal = K - need;
  const int chunk = ((V + 4 * int(blockDim.x) - 1) / (4 * int(blockDim.x))) * 4;
  const int lo = min(V, int(threadIdx.x) * chunk), hi = min(V, lo + chunk);
  const bool vectorized = (reinterpret_cast<uintptr_t>(row) & 15) == 0;
  auto eachOwn = [&](auto&& f) {
    int j = lo;
    if (vectorized) {
      for (; j + 16 <= hi; j += 16) {
        float4 v[4];
#pragma unroll
        for (int u = 0; u < 4; u++) v[u] = *reinterpret_cast<const float4*>(row + j + 4 * u);
#pragma unroll
        for (int u = 0; u < 4; u++) { f(j + 4 * u, v[u].x); f(j + 4 * u + 1, v[u].y); f(j + 4 * u + 2, v[u].z); f(j + 4 * u + 3, v[u].w); }
      }
    }
    for (; j < hi; j++) f(j, row[j]);
  };
  int tieBase = 0;
  if (equalTotal > need) {
    int mine = 0;
    eachOwn([&](int, float v) { mine += orderKey(v) == kth; });
    // Exclusive scan of the per-thread counts over the block, in thread (= id) order.
    int inclusive = mine;
    for (int o = 1; o < 32; o <<= 1) {
      const int other = __shfl_up_sync(0xffffffffu, inclusive, o);
      if (lane >= o) inclusive += other;
    }
    if (lane == 31) warpCounts[warp] = unsigned(inclusive);
    __syncthreads();
    tieBase = inclusive - mine;
    for (int w = 0; w < warp; w++) tieBase += int(warpCounts[w]);
  }
  int rank = tieBase;
  eachOwn([&](int j, float v) {
    const uint32_t key = orderKey(v);
    if (key > kth) {
      const int slot = atomicAdd(&aboveSlot, 1);
      if (slot < aboveTotal) { outValues[slot] = v; outIds[slot] = j; }
    } else if (key == kth) {
      // All ties taken: any order (a counter); else the lowest ids by rank.
      const int at = equalTotal > need ? rank++ : atomicAdd(&tieSlot, 1);
      if (at < need) { outValues[aboveTotal + at] = v; outIds[aboveTotal + at] = j; }
    }
  });
  __syncthreads();
  if (K <= kSharedSort) {
    for (int i = threadIdx.x; i < K; i += blockDim.x) { sortValues[i] = outValues[i]; sortIds[i] = outIds[i]; }
    __syncthreads();
    bitonicSort(sortValues, sortIds, K);
    for (int i = threadIdx.x; i < K; i += blockDim.x) { outValues[i] = sortValues[i]; outIds[i] = sortIds[i]; }
  } else {
    bitonicSort(outValues, outIds, K);
  }
}

}  // namespace

// ==== launchers ====

std::string logSoftmax(float* out, const float* x, size_t R, size_t V) {
  if (R == 0 || V == 0) return "";
  if (V > size_t(INT32_MAX) || R > size_t(INT32_MAX)) return "logSoftmax: rows of " + std::to_string(V) + " entries are too long";
  logSoftmaxKernel<<<unsigned(R), kRowThreads, 0, stream()>>>(out, x, int(V));
  return launchStatus("logSoftmax");
}

std::string gatherColumns(float* out, const float* x, const int32_t* index, size_t R, size_t V, size_t G) {
  const size_t total = R * G;
  if (total == 0) return "";
  if (V > size_t(INT32_MAX) || G > size_t(INT32_MAX)) return "gatherColumns: too many columns";
  gatherColumnsKernel<<<blocksFor(total), kThreads, 0, stream()>>>(out, x, index, total, int(V), int(G));
  return launchStatus("gatherColumns");
}

std::string topK(float* values, int32_t* ids, const float* x, size_t R, size_t V, size_t K) {
  if (R == 0) return "";
  if (K == 0 || K > V) return "topK: k = " + std::to_string(K) + " is not in [1, " + std::to_string(V) + "]";
  if (V > size_t(INT32_MAX) || R > size_t(INT32_MAX)) return "topK: rows of " + std::to_string(V) + " entries are too long";
  topKKernel<<<unsigned(R), kRowThreads, 0, stream()>>>(values, ids, x, int(V), int(K));
  return launchStatus("topK");
}

}  // namespace iris
