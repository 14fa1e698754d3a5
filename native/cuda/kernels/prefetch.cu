// An L2 prefetch hint for the decode step (Backend.prefetchL2): bytes a later kernel will stream (the next products'
// weights) are requested into L2 while a latency-bound kernel (decode attention: a chain of dependent reads over a
// few hundred keys, ~11 µs at batch 1 in which the memory system idles) holds the stream. One thread issues each
// 32 KiB piece as a bulk prefetch (Hopper's cp.async.bulk.prefetch.L2: no registers, no completion to wait for),
// so the product that follows reads those bytes from L2. Results never depend on it; before Hopper it does nothing.
//
// Launched as a programmatic dependent (dependent_launch.cuh): the requests go out while the kernel before it still
// runs, then the usual wait and release keep the chain's order for the kernel after it.
#include "dependent_launch.cuh"

namespace iris {

namespace {

constexpr int kThreads = 128;
constexpr int kBlocks = 8;

__global__ void __launch_bounds__(kThreads) prefetchL2Kernel(PrefetchRanges r) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  constexpr size_t kPiece = 32 << 10;
  const size_t thread = size_t(blockIdx.x) * blockDim.x + threadIdx.x, threads = size_t(gridDim.x) * blockDim.x;
  for (int i = 0; i < r.count; i++) {
    const size_t pieces = (r.bytes[i] + kPiece - 1) / kPiece;
    for (size_t p = thread; p < pieces; p += threads) {
      const size_t at = p * kPiece;
      // Whole 16-byte units only (the instruction's granule); a tail under 16 bytes is left to the product.
      const unsigned size = unsigned(((r.bytes[i] - at < kPiece ? r.bytes[i] - at : kPiece) / 16) * 16);
      if (size > 0) asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(r.ptr[i] + at), "r"(size) : "memory");
    }
  }
#endif
  waitForPrevious();
  releaseNext();
}

}  // namespace

// ==== launcher ====

std::string prefetchL2(const PrefetchRanges& ranges) {
  if (ranges.count <= 0) return "";
  if (ranges.count > kMaxPrefetchRanges) return "prefetchL2: at most " + std::to_string(kMaxPrefetchRanges) + " ranges";
  for (int i = 0; i < ranges.count; i++) {
    if (reinterpret_cast<uintptr_t>(ranges.ptr[i]) % 16 != 0) return "prefetchL2: ranges start on 16-byte boundaries";
  }
  return launchDependent("cudaLaunchKernelEx (prefetchL2)", prefetchL2Kernel, dim3{kBlocks}, dim3{kThreads}, 0, ranges);
}

}  // namespace iris
