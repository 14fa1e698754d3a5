// Argmax, penalties and sampling over F32 logits [B, V], one block per row. Sampling reproduces the cpu
// reference's choice (src/runtime/cpu/sampling.ts) for the same uniform number: the same float64 weights
// w = exp((l - max) / T), the same kept set (a prefix of the tokens sorted by weight, ties to the lower id, cut by
// top-k, top-p and min-p) and the same draw in token-id order. As on cpu, the candidates are first narrowed to the
// tokens above a threshold that provably holds the kept prefix; up to 2,048 of them are sorted in shared memory and
// walked in order like the cpu does. More (flat distributions) take a bisection over the weight's bit pattern for
// the smallest weight whose whole group (w >= it) is kept, then the next smaller weight's tokens in id order.
#include <cfloat>
#include <cstring>

#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kSampleThreads = 1024;
constexpr int kMaxCandidates = 2048;
constexpr double kGreedyTemperature = 1e-6;

struct Best {
  float value;
  int index;
};

// The cpu's argmax order: a NaN never wins, the first index among equal maxima wins; an all-NaN row gives 0.
__device__ __forceinline__ Best better(Best a, Best b) {
  const bool aNaN = a.value != a.value, bNaN = b.value != b.value;
  if (aNaN != bNaN) return aNaN ? b : a;
  if (a.value != b.value) return a.value > b.value ? a : b;
  return a.index <= b.index ? a : b;
}

template <typename T>
__device__ Best blockArgmax(const T* row, int V) {
  __shared__ float values[32];
  __shared__ int indices[32];
  Best best{NAN, 0x7fffffff};
  for (int j = threadIdx.x; j < V; j += blockDim.x) best = better(best, Best{toFloat(row[j]), j});
  for (int o = 16; o > 0; o >>= 1) {
    Best other{__shfl_xor_sync(0xffffffffu, best.value, o), __shfl_xor_sync(0xffffffffu, best.index, o)};
    best = better(best, other);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) {
    values[warp] = best.value;
    indices[warp] = best.index;
  }
  __syncthreads();
  if (warp == 0) {
    best = lane < int(blockDim.x / 32) ? Best{values[lane], indices[lane]} : Best{NAN, 0x7fffffff};
    for (int o = 16; o > 0; o >>= 1) {
      Best other{__shfl_xor_sync(0xffffffffu, best.value, o), __shfl_xor_sync(0xffffffffu, best.index, o)};
      best = better(best, other);
    }
    if (lane == 0) {
      values[0] = best.value;
      indices[0] = best.index == 0x7fffffff ? 0 : best.index;
    }
  }
  __syncthreads();
  return Best{values[0], indices[0]};
}

// Block-wide reductions in double (sum, min, max) and int (sum); every thread gets the result.
template <typename V, typename Op>
__device__ V blockReduce(V v, Op op, V identity) {
  __shared__ V shared[32];
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < int(blockDim.x / 32) ? shared[lane] : identity;
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

struct SumD { __device__ double operator()(double a, double b) const { return a + b; } };
struct MinD { __device__ double operator()(double a, double b) const { return a < b ? a : b; } };
struct MaxD { __device__ double operator()(double a, double b) const { return a > b ? a : b; } };
struct SumI { __device__ int operator()(int a, int b) const { return a + b; } };
struct MaxI { __device__ int operator()(int a, int b) const { return a > b ? a : b; } };

// Sorts the candidates by weight (ties to the lower id) with a bitonic sort in shared memory, then walks them in
// that order exactly as the cpu reference does (same order, same running sum), and describes the kept prefix as
// kept(j) = w >= cut, or w == tie and j < tieIdCut.
__device__ void sortedPrefix(double* w, int* ids, int n, int k, bool usesTopP, double pMass, bool usesMinP, double minW,
                             double* cut, double* tie, int* tieIdCut) {
  __shared__ double cutShared, tieShared;
  __shared__ int idShared;
  int size = 1;
  while (size < n) size <<= 1;
  for (int i = n + threadIdx.x; i < size; i += blockDim.x) { w[i] = -1; ids[i] = 0x7fffffff; }
  __syncthreads();
  auto precedes = [&](int a, int b) { return w[a] > w[b] || (w[a] == w[b] && ids[a] < ids[b]); };
  for (int span = 2; span <= size; span <<= 1) {
    for (int step = span >> 1; step > 0; step >>= 1) {
      for (int i = threadIdx.x; i < size; i += blockDim.x) {
        const int l = i ^ step;
        if (l <= i) continue;
        const bool up = (i & span) == 0;
        if (up ? precedes(l, i) : precedes(i, l)) {
          const double tw = w[i]; w[i] = w[l]; w[l] = tw;
          const int ti = ids[i]; ids[i] = ids[l]; ids[l] = ti;
        }
      }
      __syncthreads();
    }
  }
  if (threadIdx.x == 0) {
    double before = 0;
    int last = 0;
    for (int i = 0; i < n && i < k; i++) {
      if (usesTopP && before > pMass) break;
      if (usesMinP && w[i] < minW) break;
      before += w[i];
      last = i;
    }
    tieShared = w[last];
    cutShared = nextafter(w[last], DBL_MAX);
    idShared = ids[last] + 1;
  }
  __syncthreads();
  *cut = cutShared;
  *tie = tieShared;
  *tieIdCut = idShared;
}

// ==== kernels ====


__global__ void penaltiesKernel(float* logits, const int32_t* ids, const int32_t* counts, const int32_t* rowStart,
                                const float* repetition, const float* frequency, const float* presence, int V) {
  const int r = blockIdx.x;
  float* row = logits + size_t(r) * V;
  for (int e = rowStart[r] + threadIdx.x; e < rowStart[r + 1]; e += blockDim.x) {
    const int id = ids[e], c = counts[e];
    if (id < 0 || id >= V) continue;
    // In double, as the cpu reference computes it, then rounded once.
    double v = double(row[id]) - (double(frequency[r]) * c + (c > 0 ? double(presence[r]) : 0.0));
    v = v > 0 ? v / double(repetition[r]) : v * double(repetition[r]);
    row[id] = float(v);
  }
}

__device__ __forceinline__ double fromBits(unsigned long long u) { return __longlong_as_double((long long)u); }

__global__ void __launch_bounds__(kSampleThreads) sampleKernel(int32_t* out, const float* logits, const float* temperature,
    const int32_t* topK, const float* topP, const float* minP, const float* uniform, double* weights, int V) {
  const int r = blockIdx.x;
  const float* row = logits + size_t(r) * V;
  double* w = weights + size_t(r) * V;  // float64 weights, as the cpu reference
  const float temp = temperature[r];
  const int kRaw = topK[r];
  const Best best = blockArgmax(row, V);
  if (temp < kGreedyTemperature || kRaw == 1) {
    if (threadIdx.x == 0) out[r] = best.index;
    return;
  }
  double total = 0;
  for (int j = threadIdx.x; j < V; j += blockDim.x) {
    w[j] = exp((double(row[j]) - double(best.value)) / double(temp));
    total += w[j];
  }
  total = blockReduce(total, SumD{}, 0.0);
  const int k = kRaw <= 0 || kRaw >= V ? V : kRaw;
  const bool usesTopP = topP[r] < 1.f, usesMinP = minP[r] > 0.f;
  const double pMass = double(topP[r]) * total, minW = double(minP[r]);
  // kept(j) = w[j] >= cutW, or w[j] == tieW and j < tieIdCut.
  double cutW = 0, tieW = -1;
  int tieIdCut = 0;
  if (k < V || usesTopP || usesMinP) {
    // Candidates, as the cpu reference narrows them: the tokens with w >= t for the largest t (1/16, then / 256)
    // whose set must hold the kept prefix. When few enough, they move to shared memory and the searches below run
    // over them instead of the whole vocabulary.
    __shared__ int candIds[kMaxCandidates];
    __shared__ double candW[kMaxCandidates];
    __shared__ int candCount;
    bool compact = false;
    {
      double t = 1.0 / 16;
      int c = 0;
      for (;;) {
        double m = 0;
        c = 0;
        for (int j = threadIdx.x; j < V; j += blockDim.x) if (w[j] >= t) { c++; m += w[j]; }
        c = blockReduce(c, SumI{}, 0);
        m = blockReduce(m, SumD{}, 0.0);
        if (c >= k || (usesTopP && m > pMass) || (usesMinP && t <= minW) || t == 0) break;
        t = t > 1e-300 ? t / 256 : 0;
      }
      if (c <= kMaxCandidates) {
        if (threadIdx.x == 0) candCount = 0;
        __syncthreads();
        for (int j = threadIdx.x; j < V; j += blockDim.x) {
          if (w[j] >= t) {
            const int slot = atomicAdd(&candCount, 1);
            candIds[slot] = j;
            candW[slot] = w[j];
          }
        }
        __syncthreads();
        compact = true;
      }
    }
    if (compact) {
      sortedPrefix(candW, candIds, candCount, k, usesTopP, pMass, usesMinP, minW, &cutW, &tieW, &tieIdCut);
    }
    if (!compact) {
      // Too many candidates for shared memory: bisect over the whole vocabulary for the smallest u (a weight's
      // bits; one past 1.0 means "none") whose group {w >= u} is kept whole.
      const int n = V;
      auto weightOf = [&](int i) { return w[i]; };
      auto idOf = [](int i) { return i; };
      unsigned long long lo = 0, hi = __double_as_longlong(1.0) + 1;
      auto groupKept = [&](unsigned long long u, int* count, double* mass) {
        const double t = fromBits(u);
        int c = 0;
        double m = 0, mn = DBL_MAX;
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
          const double wi = weightOf(i);
          if (wi >= t) { c++; m += wi; mn = fmin(mn, wi); }
        }
        c = blockReduce(c, SumI{}, 0);
        m = blockReduce(m, SumD{}, 0.0);
        mn = blockReduce(mn, MinD{}, DBL_MAX);
        *count = c;
        *mass = m;
        if (c == 0) return true;
        return c <= k && !(usesTopP && m - mn > pMass) && !(usesMinP && mn < minW);
      };
      int count = 0;
      double mass = 0;
      while (lo < hi) {
        const unsigned long long mid = lo + (hi - lo) / 2;
        if (groupKept(mid, &count, &mass)) hi = mid; else lo = mid + 1;
      }
      const bool none = hi > (unsigned long long)__double_as_longlong(1.0);
      cutW = none ? DBL_MAX : fromBits(hi);
      groupKept(none ? (unsigned long long)__double_as_longlong(1.0) + 1 : hi, &count, &mass);
      if (none) { count = 0; mass = 0; }
      if (hi > 0) {
        // The next weight below the cut and how many of its tokens (lowest ids first) the cuts allow.
        double below = -1;
        for (int i = threadIdx.x; i < n; i += blockDim.x) if (weightOf(i) < cutW) below = fmax(below, weightOf(i));
        tieW = blockReduce(below, MaxD{}, -1.0);
        int ties = 0;
        for (int i = threadIdx.x; i < n; i += blockDim.x) ties += weightOf(i) == tieW;
        ties = blockReduce(ties, SumI{}, 0);
        int take = ties < k - count ? ties : k - count;
        if (usesMinP && tieW < minW) take = 0;
        if (usesTopP) {  // tied token i is kept while the mass before it stays within top-p
          int i = 0;
          for (double before = mass; i < take && !(before > pMass); i++) before += tieW;
          take = i;
        }
        // tieIdCut: the smallest x with `take` tied tokens below it.
        int idLo = 0, idHi = take == 0 ? 0 : V;
        while (idLo < idHi) {
          const int mid = (idLo + idHi) / 2;
          int c = 0;
          for (int i = threadIdx.x; i < n; i += blockDim.x) c += weightOf(i) == tieW && idOf(i) < mid;
          if (blockReduce(c, SumI{}, 0) >= take) idHi = mid; else idLo = mid + 1;
        }
        tieIdCut = idHi;
      }
    }
  }
  auto kept = [&](int j) { return w[j] >= cutW || (w[j] == tieW && j < tieIdCut); };
  // The draw in token-id order: each thread owns a contiguous run of ids; runs are scanned in thread order.
  __shared__ double runMass[kSampleThreads];
  __shared__ double target;
  __shared__ int choice;
  const int run = (V + blockDim.x - 1) / blockDim.x;
  const int from = threadIdx.x * run, to = min(V, from + run);
  double mine = 0;
  int lastKept = -1;
  for (int j = from; j < to; j++) if (kept(j)) { mine += w[j]; lastKept = j; }
  runMass[threadIdx.x] = mine;
  __syncthreads();
  if (threadIdx.x == 0) {
    double acc = 0;
    for (int t = 0; t < int(blockDim.x); t++) { const double m = runMass[t]; runMass[t] = acc; acc += m; }
    target = acc * double(uniform[r]);
    choice = 0x7fffffff;
  }
  __syncthreads();
  double acc = runMass[threadIdx.x];
  for (int j = from; j < to; j++) {
    if (!kept(j)) continue;
    acc += w[j];
    if (acc > target) { atomicMin(&choice, j); break; }
  }
  // Rounding left the target unreached: the last kept token, as the cpu loop ends on it.
  const int lastAll = blockReduce(lastKept, MaxI{}, -1);
  __syncthreads();
  if (threadIdx.x == 0) out[r] = choice != 0x7fffffff ? choice : lastAll;
}

}  // namespace

// ==== launchers ====


std::string applyPenalties(float* logits, const int32_t* ids, const int32_t* counts, const int32_t* rowStart,
                           const float* repetition, const float* frequency, const float* presence, size_t B, size_t V) {
  if (B == 0) return "";
  penaltiesKernel<<<unsigned(B), 256, 0, stream()>>>(logits, ids, counts, rowStart, repetition, frequency, presence, int(V));
  return launchStatus("applyPenalties");
}

std::string sample(int32_t* out, const float* logits, const float* temperature, const int32_t* topK, const float* topP,
                   const float* minP, const float* uniform, size_t B, size_t V) {
  if (B == 0) return "";
  void* weights = nullptr;
  std::string status = deviceMalloc(B * V * sizeof(double), &weights);
  if (!status.empty()) return status;
  sampleKernel<<<unsigned(B), kSampleThreads, 0, stream()>>>(out, logits, temperature, topK, topP, minP, uniform,
                                                             static_cast<double*>(weights), int(V));
  status = launchStatus("sample");
  deviceFree(weights);
  return status;
}

}  // namespace iris
