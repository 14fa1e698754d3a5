// Argmax of each row of logits [B, V] over many blocks per row: a row of 151,936 F32 logits is 600 KB, which one
// block reads at a few percent of the memory bandwidth (38 µs measured on an H200), while a hundred blocks read it
// in about the launch time. Each block reduces its slice to one 64-bit key whose unsigned order is the cpu's
// argmax order (value first, NaN lowest, then the lower index), one atomicMax per block merges the slices, and the
// last block of a row to finish writes the index and clears the row's key and counter for the next call. The keys
// and counters live in a buffer that is never freed (captured graphs keep its address).
//
// Two kernels. The scalar one reads a value a thread per step into fixed slices of 2,048 values (any V, any
// alignment). The 16-byte one (rows in whole 16-byte packs, aligned) reads four packs a thread per step and sizes
// its slices so the grid is one wave of resident blocks: the sampler's greedy batch of 512 bf16 rows of 151,936
// (155.6 MB, ~37 µs at 4.2 TB/s) was 38,400 blocks of 2-byte loads on the scalar kernel. A thread keeps the best
// 32-bit ordered value and its index (it visits its indices in increasing order, so a strict > keeps the first),
// and builds the 64-bit key once at the end: the same key the scalar kernel reaches, so the same index, ties and
// NaN included. setArgmaxVec16 forces either kernel.
#include <algorithm>
#include <mutex>

#include "dependent_launch.cuh"
#include "float_io.cuh"
#include "vec16.cuh"

namespace iris {

namespace {

constexpr int kArgmaxThreads = 256;
constexpr int kPerThread = 8;  // elements a thread reads per slice
constexpr int kSlice = kArgmaxThreads * kPerThread;
constexpr int kPacksInFlight = 4;  // 16-byte loads a thread issues before it reads the first

// Float bits in an order that unsigned comparison follows (-inf lowest ... +inf highest); NaN below everything.
__device__ __forceinline__ unsigned orderedBits(float v) {
  if (v != v) return 0u;
  const unsigned bits = __float_as_uint(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Higher value wins; among equal values the lower index (stored inverted, so larger is lower).
__device__ __forceinline__ unsigned long long keyOf(unsigned ordered, int index) {
  return (static_cast<unsigned long long>(ordered) << 32) | static_cast<unsigned>(~index);
}

// The block's best key merged into its row's; the last block of the row writes the index and clears the row's state.
__device__ __forceinline__ void mergeRowKey(unsigned long long best, int r, int slices, int32_t* out,
                                            unsigned long long* keys, unsigned* done) {
  __shared__ unsigned long long warpBest[kArgmaxThreads / 32];
  __shared__ bool last;
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

// ==== kernels ====

template <typename T>
__global__ void __launch_bounds__(kArgmaxThreads) argmaxSliceKernel(int32_t* out, const T* logits, int V, int slices,
    unsigned long long* keys, unsigned* done) {
  const int r = blockIdx.y, slice = blockIdx.x;
  const T* row = logits + size_t(r) * V;
  const int begin = slice * kSlice, end = min(V, begin + kSlice);
  unsigned long long best = 0;  // below every key: an empty slice never wins
  for (int j = begin + threadIdx.x; j < end; j += kArgmaxThreads) {
    const unsigned long long k = keyOf(orderedBits(toFloat(row[j])), j);
    best = k > best ? k : best;
  }
  mergeRowKey(best, r, slices, out, keys, done);
}

// A pack's values folded into a thread's best (indices increasing: strict > keeps the first of equal values, and a
// NaN, ordered 0, never replaces the first index the thread holds).
template <typename T>
__device__ __forceinline__ void foldPack(const Vec16<T>& pack, int first, unsigned& bestOrdered, int& bestIndex) {
#pragma unroll
  for (int i = 0; i < Vec16<T>::kN; i++) {
    const unsigned o = orderedBits(pack.v[i]);
    if (o > bestOrdered) bestOrdered = o, bestIndex = first + i;
  }
}

template <typename T>
__global__ void __launch_bounds__(kArgmaxThreads) argmaxVec16Kernel(int32_t* out, const T* logits, int V, int slices,
    int slicePacks, unsigned long long* keys, unsigned* done) {
  constexpr int kN = Vec16<T>::kN;
  waitForPrevious();  // launched as a dependent of the kernel that wrote the logits (no prologue of its own)
  releaseNext();
  const int r = blockIdx.y, rowPacks = V / kN;
  const T* row = logits + size_t(r) * V;
  const int begin = blockIdx.x * slicePacks, end = min(rowPacks, begin + slicePacks);
  int p = begin + int(threadIdx.x);
  // A thread without packs keeps key 0, below every key; otherwise its first index holds until a value beats it.
  unsigned bestOrdered = 0;
  int bestIndex = p * kN;
  for (; p + (kPacksInFlight - 1) * kArgmaxThreads < end; p += kPacksInFlight * kArgmaxThreads) {
    Vec16<T> packs[kPacksInFlight];
#pragma unroll
    for (int i = 0; i < kPacksInFlight; i++) packs[i].load(row + size_t(p + i * kArgmaxThreads) * kN);
#pragma unroll
    for (int i = 0; i < kPacksInFlight; i++) foldPack(packs[i], (p + i * kArgmaxThreads) * kN, bestOrdered, bestIndex);
  }
  for (; p < end; p += kArgmaxThreads) {
    Vec16<T> pack;
    pack.load(row + size_t(p) * kN);
    foldPack(pack, p * kN, bestOrdered, bestIndex);
  }
  const bool any = begin + int(threadIdx.x) < end;
  mergeRowKey(any ? keyOf(bestOrdered, bestIndex) : 0ull, r, slices, out, keys, done);
}

std::mutex stateMutex;
unsigned long long* keys = nullptr;
unsigned* done = nullptr;
size_t capacity = 0;

// -1: the rule (the 16-byte kernel wherever the rows allow it); 0 or 1 forced by setArgmaxVec16.
int vec16Mode = -1;

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

// Blocks of the 16-byte kernel resident at once on the device (asked once).
template <typename T>
int residentVec16Blocks() {
  static const int blocks = [] {
    int perSM = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, argmaxVec16Kernel<T>, kArgmaxThreads, 0) != cudaSuccess || perSM < 1) {
      (void)cudaGetLastError();
      perSM = 1;
    }
    return perSM * multiprocessorCount();
  }();
  return blocks;
}

template <typename T>
std::string launchVec16(int32_t* out, const T* logits, size_t B, size_t V) {
  const int rowPacks = int(V / Vec16<T>::kN);
  // One wave: as many slices a row as the resident blocks allow (at least one, at most a pack a thread), all equal.
  const size_t perRow = std::max<size_t>(1, size_t(residentVec16Blocks<T>()) / B);
  const int most = (rowPacks + kArgmaxThreads - 1) / kArgmaxThreads;
  const int wanted = int(std::min<size_t>(perRow, size_t(most)));
  const int slicePacks = (rowPacks + wanted - 1) / wanted, slices = (rowPacks + slicePacks - 1) / slicePacks;
  return launchDependent("cudaLaunchKernelEx (argmax)", argmaxVec16Kernel<T>, dim3{unsigned(slices), unsigned(B)},
                         dim3{kArgmaxThreads}, 0, out, logits, int(V), slices, slicePacks, keys, done);
}

}  // namespace

// ==== launcher ====

void setArgmaxVec16(int mode) { vec16Mode = mode == 0 || mode == 1 ? mode : -1; }

std::string argmax(int dtype, int32_t* out, const void* logits, size_t B, size_t V) {
  if (B == 0 || V == 0) return "";
  std::string status = rowState(B);
  if (!status.empty()) return status;
  IRIS_FLOAT_DISPATCH(dtype, T,
    if (vec16Mode != 0 && vec16Fits<T>(V, {logits})) return launchVec16<T>(out, static_cast<const T*>(logits), B, V));
  const int slices = int((V + kSlice - 1) / kSlice);
  // An ordinary launch (no programmatic dependency: the scalar kernel does not wait), through the config form only so
  // the emulation runs it through the same launcher.
  const cudaLaunchConfig_t config = {dim3{unsigned(slices), unsigned(B)}, dim3{kArgmaxThreads}, 0, stream(), nullptr, 0};
  IRIS_FLOAT_DISPATCH(dtype, T,
    return cudaStatus(cudaLaunchKernelEx(&config, argmaxSliceKernel<T>, out, static_cast<const T*>(logits), int(V), slices, keys, done),
                      "cudaLaunchKernelEx (argmax)"));
  return "";
}

}  // namespace iris
