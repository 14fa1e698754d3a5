// Host <-> device copies through pinned staging buffers. Uploads go through a ring of pinned chunks, each guarded
// by the event of its last copy, so a large upload (weights) streams chunk by chunk without holding the whole
// tensor in pinned memory, and the caller's array is free again when uploadBytes returns. Downloads copy into a
// pinned buffer and record an event; only the worker thread that finishes the download waits on that event, never
// on the whole device.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "iris_cuda.h"

namespace iris {

namespace {

constexpr size_t kChunkBytes = size_t(8) << 20;
constexpr int kChunks = 4;

struct Chunk {
  void* pinned = nullptr;
  cudaEvent_t done = nullptr;
};
Chunk ring[kChunks];
int nextChunk = 0;

// Pinned buffers of finished downloads, reused by later ones (a decode step downloads a few bytes each time).
std::mutex poolMutex;
std::vector<std::pair<size_t, void*>> pinnedPool;
std::vector<cudaEvent_t> eventPool;

std::string takePinned(size_t bytes, void** out) {
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    for (size_t i = 0; i < pinnedPool.size(); i++) {
      if (pinnedPool[i].first >= bytes) {
        *out = pinnedPool[i].second;
        pinnedPool.erase(pinnedPool.begin() + i);
        return "";
      }
    }
  }
  // Power-of-two sizes, at least 4 KiB, so buffers are reused across nearby sizes.
  size_t size = 4096;
  while (size < bytes) size *= 2;
  return cudaStatus(cudaHostAlloc(out, size, cudaHostAllocDefault), "cudaHostAlloc");
}

size_t pinnedSize(size_t bytes) {
  size_t size = 4096;
  while (size < bytes) size *= 2;
  return size;
}

}  // namespace

std::string uploadBytes(void* dst, const void* src, size_t bytes) {
  for (size_t done = 0; done < bytes;) {
    Chunk& chunk = ring[nextChunk];
    nextChunk = (nextChunk + 1) % kChunks;
    std::string status;
    if (chunk.pinned == nullptr) {
      status = cudaStatus(cudaHostAlloc(&chunk.pinned, kChunkBytes, cudaHostAllocDefault), "cudaHostAlloc");
      if (status.empty()) status = cudaStatus(cudaEventCreateWithFlags(&chunk.done, cudaEventDisableTiming), "cudaEventCreate");
    } else {
      // Waits only for this chunk's previous copy, not for the kernels queued behind it.
      status = cudaStatus(cudaEventSynchronize(chunk.done), "cudaEventSynchronize (upload staging)");
    }
    if (!status.empty()) return status;
    const size_t n = bytes - done < kChunkBytes ? bytes - done : kChunkBytes;
    std::memcpy(chunk.pinned, static_cast<const char*>(src) + done, n);
    status = cudaStatus(cudaMemcpyAsync(static_cast<char*>(dst) + done, chunk.pinned, n, cudaMemcpyHostToDevice, stream()),
                        "cudaMemcpyAsync (upload)");
    if (status.empty()) status = cudaStatus(cudaEventRecord(chunk.done, stream()), "cudaEventRecord (upload)");
    if (!status.empty()) return status;
    done += n;
  }
  return "";
}

std::string beginDownload(const void* src, size_t bytes, DownloadTicket* ticket) {
  ticket->bytes = bytes;
  std::string status = takePinned(bytes, &ticket->pinned);
  if (!status.empty()) return status;
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (!eventPool.empty()) {
      ticket->done = eventPool.back();
      eventPool.pop_back();
    }
  }
  if (ticket->done == nullptr) {
    status = cudaStatus(cudaEventCreateWithFlags(&ticket->done, cudaEventDisableTiming), "cudaEventCreate");
    if (!status.empty()) return status;
  }
  if (bytes > 0) {
    status = cudaStatus(cudaMemcpyAsync(ticket->pinned, src, bytes, cudaMemcpyDeviceToHost, stream()), "cudaMemcpyAsync (download)");
    if (!status.empty()) return status;
  }
  return cudaStatus(cudaEventRecord(ticket->done, stream()), "cudaEventRecord (download)");
}

std::string finishDownload(DownloadTicket* ticket, void* dst, int srcDtype, size_t count) {
  // The worker thread has no current device until told; the event belongs to the device's context.
  std::string status = cudaStatus(cudaSetDevice(currentDevice()), "cudaSetDevice");
  if (status.empty()) status = cudaStatus(cudaEventSynchronize(ticket->done), "cudaEventSynchronize (download)");
  if (status.empty()) {
    if (srcDtype == kBF16) {
      const uint16_t* bits = static_cast<const uint16_t*>(ticket->pinned);
      uint32_t* out = static_cast<uint32_t*>(dst);
      for (size_t i = 0; i < count; i++) out[i] = uint32_t(bits[i]) << 16;
    } else if (srcDtype == kF16) {
      const __half* h = static_cast<const __half*>(ticket->pinned);
      float* out = static_cast<float*>(dst);
      for (size_t i = 0; i < count; i++) out[i] = __half2float(h[i]);
    } else if (srcDtype == kF8E4M3) {
      const __nv_fp8_e4m3* q = static_cast<const __nv_fp8_e4m3*>(ticket->pinned);
      float* out = static_cast<float*>(dst);
      for (size_t i = 0; i < count; i++) out[i] = float(q[i]);
    } else {
      std::memcpy(dst, ticket->pinned, ticket->bytes);
    }
  }
  std::lock_guard<std::mutex> lock(poolMutex);
  pinnedPool.emplace_back(pinnedSize(ticket->bytes), ticket->pinned);
  eventPool.push_back(ticket->done);
  ticket->pinned = nullptr;
  ticket->done = nullptr;
  return status;
}

}  // namespace iris
