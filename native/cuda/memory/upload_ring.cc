// Host -> device uploads through one ring of pinned memory. Each upload copies the caller's bytes into the ring's
// next free region, enqueues the copy on the stream and records an event for that region, so the caller's array is
// free again when uploadBytes returns. The host waits only when the ring is full: for the oldest uploads' copies,
// which ends as soon as the GPU reaches them.
//
// The ring replaces four fixed 8 MiB chunks reused in turn, where the fifth upload of a step waited for the first
// one's copy, queued behind every kernel launched before it: the host could never run more than four uploads ahead
// of the GPU, and a prompt step's uploads (its inputs, page table rows, pictures) stalled its launch until the
// previous step had finished (measured on the H200: 1.68 s of host launch and 1.46 s of device idle in a 2.4 s
// offline run). Large uploads (weights while loading) stream through the ring a quarter at a time.
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "iris_cuda.h"

namespace iris {

namespace {

constexpr size_t kRingBytes = size_t(64) << 20;
constexpr size_t kMostPerCopy = kRingBytes / 4;

// One upload's region of the ring, [start, end), and the event after its copy.
struct InFlight {
  size_t start, end;
  cudaEvent_t done;
};

std::mutex ringMutex;
char* ring = nullptr;
std::deque<InFlight> inFlight;  // in the order they were made, which is also their order around the ring
std::vector<cudaEvent_t> spareEvents;

// Where n bytes can go now, or kRingBytes when the oldest upload must finish first. The regions in flight are
// contiguous in allocation order: [front.start, back.end) when they do not wrap, else [front.start, ...) then
// [0, back.end).
size_t placeFor(size_t n) {
  if (inFlight.empty()) return 0;
  const size_t tail = inFlight.front().start, head = inFlight.back().end;
  const bool wrapped = head <= tail;
  if (wrapped) return tail - head >= n ? head : kRingBytes;
  if (kRingBytes - head >= n) return head;
  return tail >= n ? 0 : kRingBytes;
}

std::string retireOldest() {
  const InFlight oldest = inFlight.front();
  inFlight.pop_front();
  spareEvents.push_back(oldest.done);
  return cudaStatus(cudaEventSynchronize(oldest.done), "cudaEventSynchronize (upload ring)");
}

std::string copyPiece(char* dst, const char* src, size_t n) {
  size_t at;
  while ((at = placeFor(n)) == kRingBytes) {
    std::string status = retireOldest();
    if (!status.empty()) return status;
  }
  cudaEvent_t done = nullptr;
  if (!spareEvents.empty()) {
    done = spareEvents.back();
    spareEvents.pop_back();
  } else {
    std::string status = cudaStatus(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate (upload ring)");
    if (!status.empty()) return status;
  }
  std::memcpy(ring + at, src, n);
  std::string status = cudaStatus(cudaMemcpyAsync(dst, ring + at, n, cudaMemcpyHostToDevice, stream()), "cudaMemcpyAsync (upload)");
  if (status.empty()) status = cudaStatus(cudaEventRecord(done, stream()), "cudaEventRecord (upload)");
  if (!status.empty()) {
    spareEvents.push_back(done);
    return status;
  }
  inFlight.push_back({at, at + n, done});
  return "";
}

}  // namespace

std::string uploadBytes(void* dst, const void* src, size_t bytes) {
  std::lock_guard<std::mutex> lock(ringMutex);
  if (ring == nullptr) {
    std::string status = cudaStatus(cudaHostAlloc(reinterpret_cast<void**>(&ring), kRingBytes, cudaHostAllocDefault),
                                    "cudaHostAlloc (upload ring)");
    if (!status.empty()) return status;
  }
  for (size_t done = 0; done < bytes;) {
    const size_t n = bytes - done < kMostPerCopy ? bytes - done : kMostPerCopy;
    std::string status = copyPiece(static_cast<char*>(dst) + done, static_cast<const char*>(src) + done, n);
    if (!status.empty()) return status;
    done += n;
  }
  return "";
}

}  // namespace iris
