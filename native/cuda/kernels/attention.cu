// Softmax attention for both entry points of the contract: variable-length packed segments (vision windows,
// causal or not) and paged KV caches (prefill, prefix-cached and chunked prefill and decode in one batch, grouped
// KV heads, Llama 4's chunked mask). The two differ only in where key p of a sequence lives (keyRow below).
//
// A block serves up to kRows (query, q-head) rows of one sequence that share one KV head, so K/V tiles loaded to
// shared memory are reused by all heads of the group (GQA) and by neighbouring queries. Each warp owns kRows/kWarps
// rows; per 32-key tile a lane scores one key (the dot product over D from shared memory), the warp runs the
// online softmax, and each lane accumulates D/32 output dims. Scores are in the log2 domain (q pre-scaled by
// scale*log2 e) so exp2f serves. Long keys with few blocks (decode) split along the sequence: each split writes
// its (max, sum, unnormalized output) and a second kernel combines them.
#include <cfloat>
#include <mutex>

#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kWarps = 8;  // one row per warp at decode (8 q heads a KV head): half the serial work per tile of 4 warps
constexpr int kRows = 16;
constexpr int kRowsPerWarp = kRows / kWarps;
constexpr int kTile = 32;
constexpr int kMaxD = 128;
constexpr int kMaxSplits = 32;

struct Geometry {
  int gChunk;      // q heads of a group per block
  int headChunks;  // blocks per group
  int qChunk;      // queries per block
  int qChunks;
  int splits;      // each sequence's keys split this many ways, in parts of its own length (see the kernel)
  bool vectorized; // bf16 rows loaded 16 bytes at a time (D % 8 == 0, 16-byte aligned caches)
};

// The row of key p of sequence s for KV head kv: a packed row (varlen) or a cache slot through the page table.
__device__ __forceinline__ size_t keyRow(const AttentionArgs& a, int s, int qBegin, int p, bool* valid) {
  if (!a.paged) return size_t(qBegin + p) * a.Hk;
  const int page = a.pageTable[size_t(s) * a.maxPages + p / a.pageSize];
  const long long slot = (long long)page * a.pageSize + p % a.pageSize;
  *valid = page >= 0 && slot < a.numSlots;
  return size_t(*valid ? slot : 0) * a.Hk;
}

// Loads keys kt .. kt+31 (zeros past kHi or on an invalid page) as fp32 into shared memory, 8 bf16 (16 bytes) per
// load. Lane j of every warp takes key j, so its page is looked up once per tile and the warp's shared-memory
// stores land on 32 different banks (rows are D+1 floats apart, D+1 odd); the warps share out the 16-byte
// chunks of the rows. Every load of a thread is issued before the first is unpacked, so their latencies overlap.
template <typename T>
__device__ __forceinline__ void loadTileVectorized(const AttentionArgs& a, int s, int qBegin, int kv, int kt, int kHi,
                                                   float* ks, float* vs) {
  constexpr int kMaxPerThread = kMaxD / 8 / kWarps;
  const int D = a.D, chunksPerRow = D / 8, j = threadIdx.x % 32, warp = threadIdx.x / 32, p = kt + j;
  bool valid = p < kHi;
  const size_t row = valid ? (keyRow(a, s, qBegin, p, &valid) + kv) * D : 0;
  const uint4* kRow = reinterpret_cast<const uint4*>(static_cast<const T*>(a.k) + row);
  const uint4* vRow = reinterpret_cast<const uint4*>(static_cast<const T*>(a.v) + row);
  uint4 kRaw[kMaxPerThread], vRaw[kMaxPerThread];
#pragma unroll
  for (int u = 0; u < kMaxPerThread; u++) {
    const int m = warp + u * kWarps;
    kRaw[u] = vRaw[u] = make_uint4(0, 0, 0, 0);
    if (valid && m < chunksPerRow) {
      kRaw[u] = __ldg(kRow + m);
      vRaw[u] = __ldg(vRow + m);
    }
  }
#pragma unroll
  for (int u = 0; u < kMaxPerThread; u++) {
    const int m = warp + u * kWarps;
    if (m >= chunksPerRow) continue;
    const __nv_bfloat162* kp = reinterpret_cast<const __nv_bfloat162*>(&kRaw[u]);
    const __nv_bfloat162* vp = reinterpret_cast<const __nv_bfloat162*>(&vRaw[u]);
    float* kd = ks + j * (D + 1) + m * 8;
    float* vd = vs + j * (D + 1) + m * 8;
#pragma unroll
    for (int e = 0; e < 4; e++) {
      const float2 kf = __bfloat1622float2(kp[e]), vf = __bfloat1622float2(vp[e]);
      kd[2 * e] = kf.x;
      kd[2 * e + 1] = kf.y;
      vd[2 * e] = vf.x;
      vd[2 * e + 1] = vf.y;
    }
  }
}

// ==== kernels ====

// One warp merges one (token, head) row's split states into its output. Lane sp holds split sp's max and sum (at
// most 32 splits), so the merge weights come from two warp reductions, and each output dim sums over the splits with
// loads that do not wait on each other. A split that saw no key has m = -inf and weight 0. The states were written
// by other blocks: read through L2 (ld.cg), never a stale L1 line.
template <typename T>
__device__ __forceinline__ void mergeSplits(T* out, const float* part, int splits, int D, int lane) {
  const float m = lane < splits ? __ldcg(part + lane * (D + 2)) : -INFINITY;
  const float l = lane < splits ? __ldcg(part + lane * (D + 2) + 1) : 0.f;
  const float mMax = warpMax(m);
  const float weight = m == -INFINITY ? 0.f : exp2f(m - mMax);
  const float total = warpSum(l * weight);
  const float inv = total > 0.f ? 1.f / total : 0.f;
  for (int d0 = 0; d0 < D; d0 += 32) {  // every lane takes part in the shuffles, dims past D or not
    const int d = d0 + lane;
    float sum = 0.f;
#pragma unroll 8
    for (int sp = 0; sp < splits; sp++) {
      const float w = __shfl_sync(0xffffffffu, weight, sp);
      if (w != 0.f && d < D) sum += __ldcg(part + sp * (D + 2) + 2 + d) * w;
    }
    if (d < D) out[d] = fromFloat<T>(sum * inv);
  }
}

template <typename T, int DV>
__global__ void __launch_bounds__(kWarps * 32) attentionKernel(AttentionArgs a, Geometry g, float* partial, unsigned* arrived) {
  extern __shared__ float smem[];
  const int D = a.D;
  float* qs = smem;                  // [kRows][D]
  float* ks = qs + kRows * D;        // [kTile][D+1]: padded, lanes read different rows at one d
  float* vs = ks + kTile * (D + 1);  // [kTile][D+1]
  const T* q = static_cast<const T*>(a.q);
  const T* k = static_cast<const T*>(a.k);
  const T* v = static_cast<const T*>(a.v);

  const int s = blockIdx.z;
  const int kv = blockIdx.y / g.headChunks, hc = blockIdx.y % g.headChunks;
  const int qc = blockIdx.x / g.splits, split = blockIdx.x % g.splits;
  const int qBegin = a.queryStart[s], qLen = a.queryStart[s + 1] - qBegin;
  const int i0 = qc * g.qChunk;
  if (i0 >= qLen) return;
  const int kvLen = a.paged ? a.kvLens[s] : qLen;
  const int offset = kvLen - qLen;  // query i sits at position offset + i
  const int group = a.Hq / a.Hk;
  const int h0 = kv * group + hc * g.gChunk;
  const int gCount = min(g.gChunk, group - hc * g.gChunk);
  const int qCount = min(g.qChunk, qLen - i0);
  const int rows = qCount * gCount;
  const bool causal = a.paged || a.causal;
  auto lowKey = [&](int i) { const int p = offset + i; return a.chunkSize > 0 ? p - p % a.chunkSize : 0; };
  auto highKey = [&](int i) { return causal ? offset + i + 1 : kvLen; };
  // Each sequence splits its own keys: the grid depends on the split count alone, never on a KV length, so one
  // captured decode graph serves every length (splits past a short sequence's keys find none and write m = -inf).
  const int partLen = g.splits == 1 ? kvLen : ((kvLen + g.splits - 1) / g.splits + kTile - 1) / kTile * kTile;
  const int kLo = max(lowKey(i0), split * partLen);
  const int kHi = min(highKey(i0 + qCount - 1), (split + 1) * partLen);

  const float qScale = a.scale * 1.4426950408889634f;
  for (int idx = threadIdx.x; idx < rows * D; idx += blockDim.x) {
    const int r = idx / D, d = idx % D;
    const int i = i0 + r / gCount, h = h0 + r % gCount;
    qs[idx] = toFloat(q[(size_t(qBegin + i) * a.Hq + h) * D + d]) * qScale;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][DV];
  int lo[kRowsPerWarp], hi[kRowsPerWarp];
#pragma unroll
  for (int w = 0; w < kRowsPerWarp; w++) {
    const int r = warp + kWarps * w;
    const int i = i0 + (r < rows ? r : 0) / gCount;
    m[w] = -INFINITY;
    l[w] = 0.f;
    lo[w] = max(lowKey(i), kLo);
    hi[w] = min(highKey(i), kHi);
#pragma unroll
    for (int dv = 0; dv < DV; dv++) acc[w][dv] = 0.f;
  }

  for (int kt = kLo; kt < kHi; kt += kTile) {
    __syncthreads();  // the previous tile is consumed (and, first time round, qs is written)
    if (g.vectorized) {
      loadTileVectorized<__nv_bfloat16>(a, s, qBegin, kv, kt, kHi, ks, vs);
    } else {
      for (int idx = threadIdx.x; idx < kTile * D; idx += blockDim.x) {
        const int j = idx / D, d = idx % D, p = kt + j;
        float kval = 0.f, vval = 0.f;
        if (p < kHi) {
          bool valid = true;
          const size_t row = (keyRow(a, s, qBegin, p, &valid) + kv) * D + d;
          if (valid) {
            kval = toFloat(k[row]);
            vval = toFloat(v[row]);
          }
        }
        ks[j * (D + 1) + d] = kval;
        vs[j * (D + 1) + d] = vval;
      }
    }
    __syncthreads();
#pragma unroll
    for (int w = 0; w < kRowsPerWarp; w++) {
      const int r = warp + kWarps * w;
      if (r >= rows || kt >= hi[w] || kt + kTile <= lo[w]) continue;  // warp-uniform
      const int p = kt + lane;
      const bool valid = p >= lo[w] && p < hi[w];
      float score = -INFINITY;
      if (valid) {
        const float* qr = qs + r * D;
        const float* kr = ks + lane * (D + 1);
        // Four independent sums: one chain of D dependent FMAs would wait on each one's latency.
        float d0 = 0.f, d1 = 0.f, d2 = 0.f, d3 = 0.f;
        int d = 0;
        for (; d + 4 <= D; d += 4) {
          d0 = fmaf(qr[d], kr[d], d0);
          d1 = fmaf(qr[d + 1], kr[d + 1], d1);
          d2 = fmaf(qr[d + 2], kr[d + 2], d2);
          d3 = fmaf(qr[d + 3], kr[d + 3], d3);
        }
        for (; d < D; d++) d0 = fmaf(qr[d], kr[d], d0);
        score = (d0 + d1) + (d2 + d3);
      }
      const float mNew = fmaxf(m[w], warpMax(score));
      const float alpha = exp2f(m[w] - mNew);  // m = -inf the first time: 0
      const float prob = valid ? exp2f(score - mNew) : 0.f;
      l[w] = l[w] * alpha + warpSum(prob);
      m[w] = mNew;
#pragma unroll
      for (int dv = 0; dv < DV; dv++) acc[w][dv] *= alpha;
      for (int j = 0; j < kTile; j++) {
        const float pj = __shfl_sync(0xffffffffu, prob, j);
#pragma unroll
        for (int dv = 0; dv < DV; dv++) {
          const int d = lane + 32 * dv;
          if (d < D) acc[w][dv] = fmaf(pj, vs[j * (D + 1) + d], acc[w][dv]);
        }
      }
    }
  }

#pragma unroll
  for (int w = 0; w < kRowsPerWarp; w++) {
    const int r = warp + kWarps * w;
    if (r >= rows) continue;
    const int i = i0 + r / gCount, h = h0 + r % gCount;
    const size_t outRow = size_t(qBegin + i) * a.Hq + h;
    if (partial == nullptr) {
      const float inv = l[w] > 0.f ? 1.f / l[w] : 0.f;  // no key at all: zeros, as the cpu reference
#pragma unroll
      for (int dv = 0; dv < DV; dv++) {
        const int d = lane + 32 * dv;
        if (d < D) static_cast<T*>(a.out)[outRow * D + d] = fromFloat<T>(acc[w][dv] * inv);
      }
    } else {
      float* part = partial + (outRow * g.splits + split) * (D + 2);
      if (lane == 0) {
        part[0] = m[w];
        part[1] = l[w];
      }
#pragma unroll
      for (int dv = 0; dv < DV; dv++) {
        const int d = lane + 32 * dv;
        if (d < D) part[2 + d] = acc[w][dv];
      }
    }
  }
  if (partial == nullptr) return;
  // The last split block of this (query chunk, head group, sequence) to arrive merges the rows they share, so no
  // second kernel runs; it also clears the counter for the next call.
  __shared__ bool lastSplit;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    const size_t key = (size_t(blockIdx.z) * gridDim.y + blockIdx.y) * g.qChunks + qc;
    lastSplit = atomicAdd(arrived + key, 1u) == unsigned(g.splits - 1);
    if (lastSplit) arrived[key] = 0;
  }
  __syncthreads();
  if (!lastSplit) return;
  __threadfence();
#pragma unroll
  for (int w = 0; w < kRowsPerWarp; w++) {
    const int r = warp + kWarps * w;
    if (r >= rows) continue;  // warp-uniform
    const size_t outRow = size_t(qBegin + i0 + r / gCount) * a.Hq + h0 + r % gCount;
    mergeSplits(static_cast<T*>(a.out) + outRow * D, partial + outRow * g.splits * (D + 2), g.splits, D, lane);
  }
}

// The splits' partial states of every call share one workspace, allocated once and never freed: attention calls run
// one after another on the stream, and captured graphs keep its address. Its size bounds every automatic split:
// splits happen only with fewer than 4 blocks per multiprocessor, a block holds at most kRows rows, and a split count
// is at most ceil(4 * SMs / blocks), so rows x splits < kRows * 8 * SMs. Sets *out null when `bytes` exceeds it.
std::string splitWorkspace(size_t bytes, float** out) {
  static float* workspace = nullptr;
  const size_t capacity = size_t(kRows) * 8 * multiprocessorCount() * (kMaxD + 2) * sizeof(float);
  *out = nullptr;
  if (bytes > capacity) return "";
  if (workspace == nullptr) {
    std::string status = cudaStatus(cudaMalloc(reinterpret_cast<void**>(&workspace), capacity), "cudaMalloc (attention split workspace)");
    if (!status.empty()) return status;
  }
  *out = workspace;
  return "";
}

// One arrival counter per (query chunk, head group, sequence) of a split launch, zero between calls (the merging
// block clears its own). Grown by doubling, the old buffer kept: captured graphs point at it.
std::string arrivalCounters(size_t count, unsigned** out) {
  static std::mutex mutex;
  static unsigned* counters = nullptr;
  static size_t capacity = 0;
  std::lock_guard<std::mutex> lock(mutex);
  if (count > capacity) {
    size_t want = capacity == 0 ? 1024 : capacity;
    while (want < count) want *= 2;
    void* p = nullptr;
    std::string status = cudaStatus(cudaMalloc(&p, want * sizeof(unsigned)), "cudaMalloc (attention split counters)");
    if (status.empty()) status = cudaStatus(cudaMemsetAsync(p, 0, want * sizeof(unsigned), stream()), "cudaMemsetAsync");
    if (!status.empty()) return status;
    counters = static_cast<unsigned*>(p);
    capacity = want;
  }
  *out = counters;
  return "";
}

Geometry planGeometry(const AttentionArgs& a) {
  Geometry g{};
  const int group = a.Hq / a.Hk;
  g.gChunk = group < kRows ? group : kRows;
  g.headChunks = (group + g.gChunk - 1) / g.gChunk;
  g.qChunk = kRows / g.gChunk;
  g.qChunks = (a.maxQueryLen + g.qChunk - 1) / g.qChunk;
  const long long blocks = (long long)g.qChunks * a.Hk * g.headChunks * a.S;
  int splits = 1;
  if (a.forceSplits > 0) {
    splits = a.forceSplits < kMaxSplits ? a.forceSplits : kMaxSplits;  // the merge holds one split per lane
  } else if (a.maxKvLen > kTile && blocks < 4LL * multiprocessorCount()) {
    // A block walks its key tiles one after another at ~10 µs a tile (latency-bound: few warps, serial softmax
    // steps), so decode wants short splits: about four blocks per multiprocessor, down to one tile each, but at
    // most 32 (measured on an H200: 256 splits of one tile at 8,192 keys took 180 µs, 32 splits 106 µs).
    const long long want = (4LL * multiprocessorCount() + blocks - 1) / blocks;
    const long long byKeys = (a.maxKvLen + kTile - 1) / kTile;
    splits = int(want < byKeys ? want : byKeys);
    if (splits > kMaxSplits) splits = kMaxSplits;
  }
  g.splits = splits < 1 ? 1 : splits;
  const uintptr_t bits = reinterpret_cast<uintptr_t>(a.k) | reinterpret_cast<uintptr_t>(a.v);
  g.vectorized = a.dtype == kBF16 && a.D % 8 == 0 && bits % 16 == 0;
  return g;
}

template <typename T>
std::string launch(const AttentionArgs& a, size_t tokens) {
  const Geometry g = planGeometry(a);
  const size_t shared = size_t(kRows * a.D + 2 * kTile * (a.D + 1)) * sizeof(float);
  const dim3 grid(unsigned(g.qChunks * g.splits), unsigned(a.Hk * g.headChunks), unsigned(a.S));
  float* partial = nullptr;
  const size_t rowsTotal = tokens * a.Hq;
  bool ownPartial = false;
  if (g.splits > 1) {
    const size_t bytes = rowsTotal * g.splits * (a.D + 2) * sizeof(float);
    std::string status = splitWorkspace(bytes, &partial);
    if (!status.empty()) return status;
    if (partial == nullptr) {  // more than the bound (forced splits): a block of its own
      void* p = nullptr;
      status = deviceMalloc(bytes, &p);
      if (!status.empty()) return status;
      partial = static_cast<float*>(p);
      ownPartial = true;
    }
  }
  unsigned* arrived = nullptr;
  if (partial != nullptr) {
    std::string status = arrivalCounters(size_t(g.qChunks) * grid.y * grid.z, &arrived);
    if (!status.empty()) return status;
  }
  const int dv = (a.D + 31) / 32;
  switch (dv) {
    case 1: attentionKernel<T, 1><<<grid, kWarps * 32, shared, stream()>>>(a, g, partial, arrived); break;
    case 2: attentionKernel<T, 2><<<grid, kWarps * 32, shared, stream()>>>(a, g, partial, arrived); break;
    case 3: attentionKernel<T, 3><<<grid, kWarps * 32, shared, stream()>>>(a, g, partial, arrived); break;
    default: attentionKernel<T, 4><<<grid, kWarps * 32, shared, stream()>>>(a, g, partial, arrived); break;
  }
  std::string status = launchStatus("attention");
  // Freed in stream order: the next user of this block runs after this kernel.
  if (ownPartial) deviceFree(partial);
  return status;
}

}  // namespace

// ==== launcher ====

std::string attention(const AttentionArgs& a) {
  if (a.D <= 0 || a.D > kMaxD) return "attention: head dim " + std::to_string(a.D) + " is not in 1 .. " + std::to_string(kMaxD);
  if (a.Hk <= 0 || a.Hq % a.Hk != 0) return "attention: q heads must be a multiple of kv heads";
  if (a.S == 0 || a.maxQueryLen == 0 || a.tokens == 0) return "";
  if (a.qRow != 0 || a.kRow != 0 || a.vRow != 0) {  // only the tensor-core kernel reads rows with strides
    return attentionMmaApplies(a) ? attentionMma(a) : "attention: q, k, v with row strides need the tensor-core kernel";
  }
  // bf16 decode: attention_decode_mma.cu where chosen (forced splits too), else attention_decode.cu (forced splits
  // too), unless the tensor-core prefill kernel serves this batch better.
  if (decodeAttentionOnTensorCores(a)) return attentionDecodeMma(a);
  if (attentionDecodeApplies(a) && !(decodeAttentionOnMma(a) && attentionMmaApplies(a))) return attentionDecode(a);
  if (attentionMmaApplies(a)) return attentionMma(a);  // bf16 prefill and vision: tensor cores (attention_mma.cu)
  IRIS_FLOAT_DISPATCH(a.dtype, T, return launch<T>(a, size_t(a.tokens)));
  return "";
}

}  // namespace iris
