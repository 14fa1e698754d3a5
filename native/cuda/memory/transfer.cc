// Device -> host copies through pinned buffers (uploads: upload_ring.cc). A download copies into a pinned buffer and
// records an event; only the worker thread that finishes the download waits on that event, never on the whole device.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "iris_cuda.h"

namespace iris {

namespace {

// Pinned buffers of finished downloads, reused by later ones (a decode step downloads a few bytes each time).
std::mutex poolMutex;
std::vector<std::pair<size_t, void*>> pinnedPool;
std::vector<cudaEvent_t> eventPool;

// Power-of-two sizes, at least 4 KiB, so buffers are reused across nearby sizes.
size_t pinnedSize(size_t bytes) {
  size_t size = 4096;
  while (size < bytes) size *= 2;
  return size;
}

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
  return cudaStatus(cudaHostAlloc(out, pinnedSize(bytes), cudaHostAllocDefault), "cudaHostAlloc");
}

}  // namespace

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
