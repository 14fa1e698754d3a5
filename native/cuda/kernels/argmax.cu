// Argmax of each row of logits [B, V] over many blocks per row: a row of 151,936 F32 logits is 600 KB, which one
// block reads at a few percent of the memory bandwidth (38 µs measured on an H200), while a hundred blocks read it
// in about the launch time. Each block reduces its slice to one 64-bit key whose unsigned order is the cpu's
// argmax order (value first, NaN lowest, then the lower index), one atomicMax per block merges the slices, and the
// last block of a row to finish writes the index and clears the row's key and counter for the next call. The keys
// and counters live in a buffer that is never freed (captured graphs keep its address).
#include <mutex>

#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kArgmaxThreads = 256;
constexpr int kPerThread = 8;  // elements a thread reads per slice
constexpr int kSlice = kArgmaxThreads * kPerThread;

// Float bits in an order that unsigned comparison follows (-inf lowest ... +inf highest); NaN below everything.
__device__ __forceinline__ unsigned orderedBits(float v) {
  if (v != v) return 0u;
  const unsigned bits = __float_as_uint(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Higher value wins; among equal values the lower index (stored inverted, so larger is lower).
__device__ __forceinline__ unsigned long long keyOf(float v, int index) {
  return (static_cast<unsigned long long>(orderedBits(v)) << 32) | static_cast<unsigned>(~index);
}

template <typename T>
__global__ void __launch_bounds__(kArgmaxThreads) argmaxSliceKernel(int32_t* out, const T* logits, int V, int slices,
    unsigned long long* keys, unsigned* done) {
  __shared__ unsigned long long warpBest[kArgmaxThreads / 32];
  __shared__ bool last;
  const int r = blockIdx.y, slice = blockIdx.x;
  const T* row = logits + size_t(r) * V;
  const int begin = slice * kSlice, end = min(V, begin + kSlice);
  unsigned long long best = 0;  // below every key: an empty slice never wins
  for (int j = begin + threadIdx.x; j < end; j += kArgmaxThreads) {
    const unsigned long long k = keyOf(toFloat(row[j]), j);
    best = k > best ? k : best;
  }
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long other = __shfl_xor_sync(0xffffffffu, best, o);
    best = other > best ? other : best;
  }
  if (threadIdx.x % 32 == 0) warpBest[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kArgmaxThreads / 32; w++) best = warpBest[w] > best ? warpBest[w] : best;
    atomicMax(keys + r, best);
    __threadfence();
    last = atomicAdd(done + r, 1u) == unsigned(slices - 1);
  }
  __syncthreads();
  if (!last || threadIdx.x != 0) return;
  __threadfence();
  const unsigned long long winner = atomicExch(keys + r, 0ull);
  done[r] = 0;
  // An all-NaN row: every key is ~index with no value bits, the largest being index 0's.
  out[r] = static_cast<int32_t>(~static_cast<unsigned>(winner & 0xffffffffull));
}

std::mutex stateMutex;
unsigned long long* keys = nullptr;
unsigned* done = nullptr;
size_t capacity = 0;

// Zeroed keys and counters for `rows` rows. A larger buffer replaces a smaller one without freeing it: graphs
// captured earlier still point at it.
std::string rowState(size_t rows) {
  std::lock_guard<std::mutex> lock(stateMutex);
  if (rows <= capacity) return "";
  size_t want = capacity == 0 ? 256 : capacity;
  while (want < rows) want *= 2;
  void* k = nullptr;
  void* d = nullptr;
  std::string status = cudaStatus(cudaMalloc(&k, want * sizeof(unsigned long long)), "cudaMalloc (argmax keys)");
  if (status.empty()) status = cudaStatus(cudaMalloc(&d, want * sizeof(unsigned)), "cudaMalloc (argmax counters)");
  if (status.empty()) status = cudaStatus(cudaMemsetAsync(k, 0, want * sizeof(unsigned long long), stream()), "cudaMemsetAsync");
  if (status.empty()) status = cudaStatus(cudaMemsetAsync(d, 0, want * sizeof(unsigned), stream()), "cudaMemsetAsync");
  if (!status.empty()) return status;
  keys = static_cast<unsigned long long*>(k);
  done = static_cast<unsigned*>(d);
  capacity = want;
  return "";
}

}  // namespace

// ==== launcher ====

std::string argmax(int dtype, int32_t* out, const void* logits, size_t B, size_t V) {
  if (B == 0 || V == 0) return "";
  std::string status = rowState(B);
  if (!status.empty()) return status;
  const int slices = int((V + kSlice - 1) / kSlice);
  const dim3 grid{unsigned(slices), unsigned(B)};
  IRIS_FLOAT_DISPATCH(dtype, T, argmaxSliceKernel<T><<<grid, kArgmaxThreads, 0, stream()>>>(out, static_cast<const T*>(logits), int(V), slices, keys, done));
  return launchStatus("argmax");
}

}  // namespace iris
