// Hopper's bulk copies into shared memory (cp.async.bulk: the one-dimensional form of the Tensor Memory Accelerator),
// completed on an mbarrier by their bytes: one thread starts a copy of any multiple of 16 bytes, which moves without
// registers or per-lane instructions, and the waiters spin on the barrier's phase. sm_90 and later: elsewhere these
// trap, and launchers check the device first. The cpu emulations define the same functions (tests/cuda/
// emulated-bulk-copy.h), where a copy lands at the wait, not before.
//
// PTX ISA facts used: an mbarrier (8 bytes of shared memory) completes its phase when its pending arrivals reach zero
// and its transaction count, raised by arrive.expect_tx and lowered by each copy's complete_tx, is zero; a copy's
// addresses and size are multiples of 16; mbarrier.init must be made visible to the async proxy
// (fence.mbarrier_init) before a copy completes on it; a shared::cta address is a shared::cluster one of its own CTA.
#pragma once

#include <cstdint>

#include "mma_frag.cuh"  // mma::sharedAddress

namespace iris::bulk {

#ifdef __CUDACC__

using mma::sharedAddress;

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900

// A barrier for phases of `arrivals` arrivals each, made visible to the bulk copies (the caller then syncs the threads
// that start copies on it).
__device__ __forceinline__ void barrierInit(uint64_t* barrier, unsigned arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(sharedAddress(barrier)), "r"(arrivals) : "memory");
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

// One arrival that also expects `bytes` more of copies before the phase completes.
__device__ __forceinline__ void arriveExpectingBytes(uint64_t* barrier, unsigned bytes) {
  asm volatile("{\n .reg .b64 state;\n mbarrier.arrive.expect_tx.shared::cta.b64 state, [%0], %1;\n}\n"
               ::"r"(sharedAddress(barrier)), "r"(bytes)
               : "memory");
}

// `bytes` (a multiple of 16; both addresses 16-byte aligned) from global `src` to shared `dst`, counted on `barrier`.
__device__ __forceinline__ void copyToShared(void* dst, const void* src, unsigned bytes, uint64_t* barrier) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
               ::"r"(sharedAddress(dst)), "l"(src), "r"(bytes), "r"(sharedAddress(barrier))
               : "memory");
}

// Until the barrier's phase of parity `parity` (0 first) has completed: its copies have landed and are visible.
__device__ __forceinline__ void waitPhase(uint64_t* barrier, unsigned parity) {
  unsigned done = 0;
  while (!done) {
    asm volatile(
        "{\n .reg .pred complete;\n mbarrier.try_wait.parity.shared::cta.b64 complete, [%1], %2;\n"
        " selp.u32 %0, 1, 0, complete;\n}\n"
        : "=r"(done)
        : "r"(sharedAddress(barrier)), "r"(parity)
        : "memory");
  }
}

#else

__device__ __forceinline__ void barrierInit(uint64_t*, unsigned) { __trap(); }
__device__ __forceinline__ void arriveExpectingBytes(uint64_t*, unsigned) { __trap(); }
__device__ __forceinline__ void copyToShared(void*, const void*, unsigned, uint64_t*) { __trap(); }
__device__ __forceinline__ void waitPhase(uint64_t*, unsigned) { __trap(); }

#endif
#endif

}  // namespace iris::bulk
