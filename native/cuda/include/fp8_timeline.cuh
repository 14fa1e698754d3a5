// A measurement of where a quantizing FP8 product's time goes inside a decode step (bench/fp8-timeline-scout.ts):
// off unless a benchmark hands the addon a device buffer (setFp8Timeline). While on, each launch of the quantizing
// kernels (fp8_quantizing.cuh, fp8_shared_expert.cuh) takes the next slice of that buffer, and each of its blocks'
// thread 0 writes, at up to seven marks (entry, past the wait on the kernel ahead, the first row of x loaded and its
// amax reduced, a first part of the prologue done, x quantized, streaming done), the global nanosecond timer and its
// multiprocessor's cycle counter, and once its multiprocessor's id. The loaded and reduced marks are quantizeRow's,
// in the plain product only: in the folded MoE kernels they cost 4-20 bytes more of spills (ptxas), where the other
// marks cost none. The first part is the kernel's own: the plain product's first row quantized, the folded gate|up's
// routed blocks' expert found (the shared blocks': their rows quantized), the folded down's routed rows quantized
// before the shared ones. A mark a block does not reach stays 0.
//
// Why. Three changes to the products' streaming (a cp.async ring, bulk-copied tiles, 8 loads a lane) were each
// predicted from a model of the kernel alone and each measured slower inside the step; the step's products cost
// ~2 to 6 µs a call more than their bytes at the measured ~4 TB/s, and the three kernels' difference from one another
// does not say where. The marks place each phase of every block of every product of a captured step on one clock:
// when blocks become resident (before or after the kernel ahead ends), how long the wait holds them, what quantizing
// x costs, and when the last block ends against the next kernel's first. Its first finding (session 14): the folded
// down's blocks spent 15 µs computing both experts' activations before streaming (now gate|up's epilogue does it
// once, fp8_shared_expert.cuh); the rest of a layer's breakdown is in bench/results/2026-12-04-session14-h200.md.
//
// A graph captured while it is on keeps its launches' slices: replays write the same words again.
#pragma once

#include <string>
#include <vector>

#include "iris_cuda.h"

namespace iris::fp8timeline {

enum Mark { kEntry, kWaited, kXLoaded, kReduced, kFirstPart, kQuantized, kStreamed, kMarks };
// Words a block: a (global ns, cycles) pair a mark, then the multiprocessor's id.
constexpr int kWordsPerBlock = 2 * kMarks + 1;

__device__ __forceinline__ void mark(unsigned long long* timeline, Mark m) {
#if defined(__CUDA_ARCH__)
  if (timeline == nullptr || threadIdx.x != 0) return;
  unsigned long long* words = timeline + (size_t(blockIdx.y) * gridDim.x + blockIdx.x) * kWordsPerBlock;
  unsigned long long ns;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(ns));
  words[2 * m] = ns;
  words[2 * m + 1] = static_cast<unsigned long long>(clock64());
  if (m == kEntry) {
    unsigned sm;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
    words[2 * kMarks] = sm;
  }
#else
  (void)timeline;
  (void)m;
#endif
}

// The launches recorded since the buffer was set: a kernel's name, its grid and its first word in the buffer.
struct Launch {
  std::string name;
  unsigned gridX, gridY;
  size_t firstWord;
};

struct Recorder {
  unsigned long long* buffer = nullptr;
  size_t capacityWords = 0, usedWords = 0;
  std::vector<Launch> launches;
};

inline Recorder& recorder() {
  static Recorder r;
  return r;
}

// What a launch is called in the record: its kernel and the product's shape.
inline std::string launchName(const char* kernel, size_t N, size_t K) {
  return std::string(kernel) + " " + std::to_string(N) + "x" + std::to_string(K);
}

// The slice of the buffer a launch of `name` over `gridX` x `gridY` blocks writes, or null (off, or the buffer full:
// that launch is not recorded).
inline unsigned long long* slice(const std::string& name, unsigned gridX, unsigned gridY) {
  Recorder& r = recorder();
  const size_t words = size_t(gridX) * gridY * kWordsPerBlock;
  if (r.buffer == nullptr || r.usedWords + words > r.capacityWords) return nullptr;
  unsigned long long* first = r.buffer + r.usedWords;
  r.launches.push_back({name, gridX, gridY, r.usedWords});
  r.usedWords += words;
  return first;
}

}  // namespace iris::fp8timeline
