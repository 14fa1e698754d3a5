// The logprob kernels over F32 rows [R, V] (V up to a 202,048-token vocabulary), one block of 1024 threads per
// row, as the cpu reference (src/runtime/cpu/logprobs.ts) computes them:
// - logSoftmax: one pass merging per-thread (max, sum of exp) pairs, the sums in float64, then one writing pass.
// - gatherColumns: one thread per output; an id outside [0, V) gives NaN (the cpu throws; a kernel cannot).
// - topK: the K largest of a row, largest first, ties to the lower id, for any K in [1, V]. A radix select over an
//   order-preserving 32-bit key finds the K-th key in four passes of 8 bits (256-bin histogram in shared memory);
//   a fifth pass writes the entries above it and, in id order, the lowest-id entries equal to it into the output
//   row; the K candidates are then sorted by (key desc, id asc) with a bitonic network, in shared memory up to
//   4,096 candidates, in the output row itself (global memory, same block) beyond.
#include <cfloat>
#include <cstdint>

#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kRowThreads = 1024;
constexpr int kSharedSort = 4096;

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

__global__ void __launch_bounds__(kRowThreads) logSoftmaxKernel(float* out, const float* x, int V) {
  __shared__ float maxes[32];
  __shared__ double sums[32];
  __shared__ double logSumShared;
  const size_t base = size_t(blockIdx.x) * V;
  const float* row = x + base;
  MaxSum part{-INFINITY, 0.0};
  eachValue(row, V, [&](int, float v) {
    if (v > part.max) {
      part.sum = part.max == -INFINITY ? 0.0 : part.sum * exp(double(part.max) - double(v));
      part.max = v;
    }
    // A NaN entry (never above max) makes the sum NaN, as in the cpu reference; -inf entries add nothing.
    if (v != -INFINITY || part.max != -INFINITY) part.sum += double(expf(v - part.max));
  });
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
  const double logSum = logSumShared;
  // out may be x: every entry is read by the thread that writes it, after the block has read the whole row.
  float* o = out + base;
  for (int j = threadIdx.x; j < V; j += blockDim.x) o[j] = float(double(row[j]) - logSum);
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

__global__ void __launch_bounds__(kRowThreads) topKKernel(float* values, int32_t* ids, const float* x, int V, int K) {
  __shared__ unsigned histogram[256];
  __shared__ uint32_t prefixShared;
  __shared__ int needShared;
  __shared__ unsigned warpCounts[32];
  __shared__ int aboveSlot;
  __shared__ float sortValues[kSharedSort];
  __shared__ int sortIds[kSharedSort];
  const float* row = x + size_t(blockIdx.x) * V;
  float* outValues = values + size_t(blockIdx.x) * K;
  int* outIds = ids + size_t(blockIdx.x) * K;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;

  // Radix select: after the pass of `shift`, the K-th key's bits above `shift` are known (prefix), and `need` of
  // the entries matching them (from the top) complete the K.
  uint32_t prefix = 0, mask = 0;
  int need = K;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) histogram[b] = 0;
    __syncthreads();
    eachValue(row, V, [&](int, float v) {
      const uint32_t key = orderKey(v);
      if ((key & mask) == prefix) atomicAdd(&histogram[(key >> shift) & 255u], 1u);
    });
    __syncthreads();
    if (threadIdx.x == 0) {
      int above = 0, digit = 255;
      for (; digit > 0; digit--) {
        const int count = int(histogram[digit]);
        if (above + count >= need) break;
        above += count;
      }
      prefixShared = prefix | (uint32_t(digit) << shift);
      needShared = need - above;
      aboveSlot = 0;
    }
    __syncthreads();
    prefix = prefixShared;
    need = needShared;
    mask |= 255u << shift;
  }
  // prefix is now the K-th key: the K - need entries above it are all taken, and the `need` lowest-id entries
  // equal to it. Candidates go to the output row (ties after the others), then get sorted.
  const uint32_t kth = prefix;
  const int aboveTotal = K - need;
  int tiesTaken = 0;
  for (int tile = 0; tile < V; tile += blockDim.x) {
    const int j = tile + threadIdx.x;
    const float v = j < V ? row[j] : 0.f;
    const uint32_t key = j < V ? orderKey(v) : 0u;
    if (j < V && key > kth) {
      const int slot = atomicAdd(&aboveSlot, 1);
      if (slot < aboveTotal) { outValues[slot] = v; outIds[slot] = j; }
    }
    // The ties of this tile, ranked in id order across the block.
    const bool tie = j < V && key == kth;
    const unsigned ballot = __ballot_sync(0xffffffffu, tie);
    if (lane == 0) warpCounts[warp] = __popc(ballot);
    __syncthreads();
    int rank = tiesTaken + __popc(ballot & ((1u << lane) - 1u)), tileTies = 0;
    for (int w = 0; w < warps; w++) {
      if (w < warp) rank += int(warpCounts[w]);
      tileTies += int(warpCounts[w]);
    }
    if (tie && rank < need) { outValues[aboveTotal + rank] = v; outIds[aboveTotal + rank] = j; }
    tiesTaken += tileTies;
    __syncthreads();  // warpCounts is rewritten by the next tile
    if (tiesTaken >= need && tile + int(blockDim.x) < V) {
      // Every tie is placed; the entries above may still lie further on, so the scan goes on only for them.
      for (int j2 = tile + int(blockDim.x) + int(threadIdx.x); j2 < V; j2 += blockDim.x) {
        const float v2 = row[j2];
        if (orderKey(v2) > kth) {
          const int slot = atomicAdd(&aboveSlot, 1);
          if (slot < aboveTotal) { outValues[slot] = v2; outIds[slot] = j2; }
        }
      }
      break;
    }
  }
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
