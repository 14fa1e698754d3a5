// The caching allocator. Blocks come from cudaMalloc rounded up to a size class and go back to a free list keyed
// by size when released, so a steady step loop never calls the driver. Because all work runs on one stream, a
// block freed here may be handed out again immediately: its next user's kernels run after its last reader's.
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "iris_cuda.h"

namespace iris {

namespace {

std::mutex mutex;
std::multimap<size_t, void*> freeBlocks;     // size -> block, for best-fit reuse
std::unordered_map<void*, size_t> liveBlocks;  // block -> size
AllocatorStats stats;
std::unordered_set<void*> capturedBlocks;

// Small requests round to 512 bytes; large ones to 2 MiB, so blocks of nearby sizes serve each other.
size_t roundSize(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t granule = bytes < (size_t(1) << 20) ? 512 : (size_t(2) << 20);
  return (bytes + granule - 1) / granule * granule;
}

void freeLocked(void* ptr) {
  auto it = liveBlocks.find(ptr);
  if (it == liveBlocks.end()) return;
  stats.allocated -= it->second;
  freeBlocks.emplace(it->second, ptr);
  liveBlocks.erase(it);
}

void releaseCachedLocked() {
  for (auto& [size, ptr] : freeBlocks) {
    cudaFree(ptr);
    stats.reserved -= size;
  }
  freeBlocks.clear();
}

}  // namespace

std::string deviceMalloc(size_t bytes, void** out) {
  const size_t size = roundSize(bytes);
  std::lock_guard<std::mutex> lock(mutex);
  // Best fit, but never a block over twice the request: a small tensor must not pin a large block.
  auto it = freeBlocks.lower_bound(size);
  if (it != freeBlocks.end() && it->first <= 2 * size) {
    const size_t got = it->first;
    *out = it->second;
    freeBlocks.erase(it);
    liveBlocks[*out] = got;
    stats.allocated += got;
  } else {
    void* ptr = nullptr;
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error state of a failed allocation
      releaseCachedLocked();
      err = cudaMalloc(&ptr, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      return "out of device memory: " + std::to_string(size) + " bytes requested, " + std::to_string(stats.allocated) +
             " allocated, " + std::to_string(stats.reserved) + " reserved (" + cudaGetErrorString(err) + ")";
    }
    *out = ptr;
    liveBlocks[ptr] = size;
    stats.allocated += size;
    stats.reserved += size;
  }
  if (stats.allocated > stats.peak) stats.peak = stats.allocated;
  if (captureActive()) {
    capturedBlocks.insert(*out);
    keepForCapture(*out);
  }
  return "";
}

void deviceFree(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex);
  // Drawn during a capture: the graph owns it until destroyGraph gives it back through releaseGraphBlock.
  if (capturedBlocks.count(ptr) != 0) return;
  freeLocked(ptr);
}

void releaseGraphBlock(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex);
  capturedBlocks.erase(ptr);
  freeLocked(ptr);
}

void emptyCache() {
  std::lock_guard<std::mutex> lock(mutex);
  releaseCachedLocked();
}

AllocatorStats allocatorStats() {
  std::lock_guard<std::mutex> lock(mutex);
  return stats;
}

}  // namespace iris
