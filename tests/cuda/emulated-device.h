// What a cpu emulation whose kernel goes through its own launcher (attention-decode-emulation.cc,
// attention-decode-mma-emulation.cc, fp8-stream-emulation.cc) gives that code in place of the device and the CUDA
// runtime:
//   - warp collectives (shuffles, ballots, __syncwarp) as rendezvous through the block's collective slots, and the
//     block barrier; the load and bit-cast intrinsics; atomicAdd (one fiber runs at a time);
//   - cudaLaunchKernelEx: the grid's blocks (whole warps, up to Block::kThreads threads) run one after another in a
//     scrambled order (orderSeed), each as its fibers (fiber-blocks.h), so any block may be the last to arrive at
//     whatever the kernel merges (its dynamic shared memory at most IRIS_EMULATED_DYNAMIC_SHARED bytes, 32 KB unless
//     the including file says otherwise). A launch in clusters (cluster.cuh) runs a cluster's blocks together, their
//     fibers taking turns, each block with its own shared memory: the including file names the kernel's dynamic
//     shared memory (emuClusterShared), which holds the running block's while the others' wait in copies (poisoned
//     at the start: NaN floats), swapped when a fiber of another block runs; mapShared reaches a waiting block's copy.
//     The scrambled order also decides which block of a cluster runs first;
//   - the host helpers the launchers call (iris::multiprocessorCount, stream, dependentLaunchSupported, cudaStatus,
//     allowSharedBytes).
// The including file defines first: `Block`, an EmuBlock over a slot type holding `uint32_t v[32]`, and
// IRIS_EMULATED_MULTIPROCESSORS, the multiprocessors the launchers see. (Tensor-core PTX: emulated-tensor-cores.h.)
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fiber-blocks.h"

// The dynamic shared memory a launch may ask for: what the including file's buffer for it holds.
#ifndef IRIS_EMULATED_DYNAMIC_SHARED
#define IRIS_EMULATED_DYNAMIC_SHARED 32768
#endif

#define IRIS_EMULATED_DEVICE 1  // dependent_launch.cuh's waitForPrevious calls emuWaitForPrevious

inline Block* emuBlock = nullptr;

// What the kernel ahead writes, which a programmatic dependent may read only after its waitForPrevious(): byte ranges
// the including file lists (emuWrittenAhead) for a launch. A load (__ldg, __ldcs, __ldcg, cp.async) of one by a thread
// that has not waited yet is counted in emuEarlyReads; each thread of each block starts unwaited.
struct EmuRange {
  const void* begin;
  size_t bytes;
};
inline std::vector<EmuRange> emuWrittenAhead;
inline bool emuWaited[1024];
inline long emuEarlyReads = 0;
inline void emuWaitForPrevious() { emuWaited[emuThreadIdx.x] = true; }
inline void emuCheckRead(const void* p) {
  if (emuWaited[emuThreadIdx.x]) return;
  const auto* at = static_cast<const unsigned char*>(p);
  for (const EmuRange& r : emuWrittenAhead) {
    const auto* begin = static_cast<const unsigned char*>(r.begin);
    if (at >= begin && at < begin + r.bytes) emuEarlyReads++;
  }
}
inline uint32_t orderSeed = 12345;

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Each lane deposits its value in this collective's slot, waits for the warp, reads its source lane's.
inline uint32_t exchange(uint32_t value, int src) {
  uint32_t* slot = emuBlock->nextSlot().v;
  slot[emuLane()] = value;
  emuBlock->warp().bar.wait();
  return slot[src & 31];
}
inline float __shfl_xor_sync(unsigned, float v, int mask) { return bitsToFloat(exchange(floatBits(v), emuLane() ^ mask)); }
inline int __shfl_sync(unsigned, int v, int src) { return int(exchange(uint32_t(v), src)); }
inline float __shfl_sync(unsigned, float v, int src) { return bitsToFloat(exchange(floatBits(v), src)); }
inline unsigned __ballot_sync(unsigned, bool predicate) {
  uint32_t* slot = emuBlock->nextSlot().v;
  slot[emuLane()] = predicate;
  emuBlock->warp().bar.wait();
  unsigned bits = 0;
  for (int lane = 0; lane < 32; lane++) bits |= slot[lane] << lane;
  return bits;
}
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __ffs(unsigned v) { return __builtin_ffs(int(v)); }
inline void __syncwarp() { emuBlock->warp().bar.wait(); }
inline void __syncthreads() { emuBlock->bar.wait(); }
inline void __threadfence() {}
template <class T>
inline T __ldg(const T* p) {
  emuCheckRead(p);
  return *p;
}
template <class T>
inline T __ldcs(const T* p) {
  emuCheckRead(p);
  return *p;
}
inline float __ldcg(const float* p) {
  emuCheckRead(p);
  return *p;
}
inline float __uint_as_float(unsigned u) { return bitsToFloat(u); }
inline unsigned __float_as_uint(float f) { return floatBits(f); }
inline unsigned atomicAdd(unsigned* p, unsigned v) {
  const unsigned old = *p;
  *p += v;
  return old;
}

// ==== clusters ====

inline unsigned char* emuClusterShared = nullptr;  // the kernel's dynamic shared memory (set by the including file)
inline size_t emuClusterSharedBytes = 0;

// The cluster running now: its blocks' saved shared memory and threads' waits, a slot a block, and its barrier.
struct EmuCluster {
  std::vector<EmuDim> index;                      // blockIdx a slot
  std::vector<int> slotOfRank;                    // rank (x within the cluster) -> slot
  std::vector<std::vector<unsigned char>> shared;  // each slot's shared memory while another runs
  std::vector<std::vector<bool>> waited;
  int size = 0, threads = 0, current = -1;
};
inline EmuCluster* emuCluster = nullptr;
inline Barrier* emuClusterBarrier = nullptr;

inline void emuClusterSync() {
  if (emuClusterBarrier == nullptr) std::abort();  // a cluster barrier in a launch without clusters
  emuClusterBarrier->wait();
}

inline void* emuMapShared(void* local, int rank) {
  if (emuCluster == nullptr) std::abort();  // distributed shared memory in a launch without clusters
  EmuCluster& c = *emuCluster;
  auto* at = static_cast<unsigned char*>(local);
  if (rank < 0 || rank >= c.size || at < emuClusterShared || at >= emuClusterShared + emuClusterSharedBytes) std::abort();
  const int slot = c.slotOfRank[size_t(rank)];
  return slot == c.current ? local : c.shared[size_t(slot)].data() + (at - emuClusterShared);
}

// Makes slot `slot` the running block: the last one's shared memory and waits saved, this one's put in place.
inline void emuEnterClusterBlock(EmuCluster& c, int slot, std::vector<Block>& blocks) {
  if (slot == c.current) return;
  if (c.current >= 0) {
    std::memcpy(c.shared[size_t(c.current)].data(), emuClusterShared, emuClusterSharedBytes);
    for (int t = 0; t < c.threads; t++) c.waited[size_t(c.current)][size_t(t)] = emuWaited[t];
  }
  std::memcpy(emuClusterShared, c.shared[size_t(slot)].data(), emuClusterSharedBytes);
  for (int t = 0; t < c.threads; t++) emuWaited[t] = c.waited[size_t(slot)][size_t(t)];
  c.current = slot;
  emuBlock = &blocks[size_t(slot)];
  emuBlockIdx = c.index[size_t(slot)];
}

// Runs the grid's clusters of `size` blocks along x, in a scrambled order, each cluster's blocks together.
inline void emuRunClusters(unsigned size, int threads, const std::function<void()>& body) {
  if (emuClusterShared == nullptr || emuGridDim.x % size != 0) std::abort();
  const EmuDim clusters{emuGridDim.x / size, emuGridDim.y, emuGridDim.z};
  for (const EmuDim& k : scrambledBlocks(clusters, orderSeed)) {
    EmuCluster c;
    c.size = int(size);
    c.threads = threads;
    c.slotOfRank.assign(size, 0);
    // The cluster's ranks scrambled too: which block's fibers start first.
    for (const EmuDim& r : scrambledBlocks({size, 1, 1}, orderSeed)) c.index.push_back({k.x * size + r.x, k.y, k.z});
    for (unsigned slot = 0; slot < size; slot++) c.slotOfRank[c.index[slot].x % size] = int(slot);
    c.shared.assign(size, std::vector<unsigned char>(emuClusterSharedBytes, 0xff));
    c.waited.assign(size, std::vector<bool>(size_t(threads), false));
    std::vector<Block> blocks;
    blocks.reserve(size);
    for (unsigned slot = 0; slot < size; slot++) blocks.emplace_back(threads);
    Barrier barrier(int(size) * threads);
    emuCluster = &c;
    emuClusterBarrier = &barrier;
    const bool finished = runFibers(int(size) * threads, body, [&](int f) {
      emuEnterClusterBlock(c, f / threads, blocks);
      emuThreadIdx = {unsigned(f % threads), 0, 0};
    });
    emuCluster = nullptr;
    emuClusterBarrier = nullptr;
    if (!finished) {
      std::printf("deadlock: cluster (%u, %u, %u) has threads waiting at a barrier the others never reach\n", k.x, k.y, k.z);
      std::exit(1);
    }
  }
}

// The grid, run here (a failed launch would leave an error for cudaGetLastError; none fails here).
template <typename... Params, typename... Args>
cudaError_t emuLaunch(const cudaLaunchConfig_t* config, void (*kernel)(Params...), Args... args) {
  emuGridDim = {config->gridDim.x, config->gridDim.y, config->gridDim.z};
  emuBlockDim = {config->blockDim.x, 1, 1};
  const unsigned threads = config->blockDim.x;
  if (threads > unsigned(Block::kThreads) || threads % 32 != 0 || config->dynamicSmemBytes > IRIS_EMULATED_DYNAMIC_SHARED) std::abort();
  unsigned cluster = 1;
  for (unsigned i = 0; i < config->numAttrs; i++) {
    if (config->attrs[i].id == cudaLaunchAttributeClusterDimension) cluster = config->attrs[i].val.clusterDim.x;
  }
  const std::function<void()> body = [=] {
    emuWaited[emuThreadIdx.x] = false;
    kernel(args...);
  };
  if (cluster > 1) {
    emuRunClusters(cluster, int(threads), body);
  } else {
    runBlocks(scrambledBlocks(emuGridDim, orderSeed), emuBlock, body, int(threads));
  }
  return cudaSuccess;
}
#define cudaLaunchKernelEx emuLaunch
inline cudaError_t emuLastError() { return cudaSuccess; }
#define cudaGetLastError emuLastError

namespace iris {
inline int min(int a, int b) { return a < b ? a : b; }
int multiprocessorCount() { return IRIS_EMULATED_MULTIPROCESSORS; }
cudaStream_t stream() { return nullptr; }
bool dependentLaunchSupported() { return true; }
int computeCapability() { return 90; }  // Hopper: programmatic dependents and clusters
std::string cudaStatus(cudaError_t error, const char* what) { return error == cudaSuccess ? "" : what; }
// The launchers' request for more dynamic shared memory (native/cuda/memory/device.cc on the GPU): granted up to what
// the emulated block holds.
std::string allowSharedBytes(const void*, size_t bytes, const char* what) {
  return bytes <= IRIS_EMULATED_DYNAMIC_SHARED ? "" : std::string(what) + ": more dynamic shared memory than the emulation holds";
}
}  // namespace iris
