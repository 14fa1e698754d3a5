// Hopper's thread block clusters, as the kernels use them: a cluster's blocks run at once on one GPC and may read and
// write each other's shared memory (distributed shared memory) between cluster barriers. A launcher asks for a
// cluster (launchDependentCluster, dependent_launch.cuh) only where computeCapability() >= 90; before Hopper these
// calls are never reached and trap. The cpu emulations (tests/cuda/emulated-device.h) run a cluster's blocks as
// fibers together and give each block its own shared memory.
#pragma once

#include <cstdint>

namespace iris {

// Waits for every thread of every block of the cluster. Shared-memory writes before it (the block's own, or another
// block's through mapShared) are visible to every thread of the cluster after it (release, then acquire).
__device__ __forceinline__ void clusterSync() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // Not .aligned: a caller's warps need not be converged when they reach it (after a loop of divergent trip counts).
  asm volatile("barrier.cluster.arrive.release;\n\tbarrier.cluster.wait.acquire;" ::: "memory");
#elif defined(__CUDA_ARCH__)
  __trap();
#elif defined(IRIS_EMULATED_DEVICE)
  emuClusterSync();
#endif
}

// The address of `local` (this block's shared memory) in the shared memory of the cluster's block `rank`: a generic
// address that plain loads and stores reach.
template <class T>
__device__ __forceinline__ T* mapShared(T* local, int rank) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  uint64_t remote;
  asm volatile("mapa.u64 %0, %1, %2;" : "=l"(remote) : "l"(reinterpret_cast<uint64_t>(local)), "r"(rank));
  return reinterpret_cast<T*>(remote);
#elif defined(__CUDA_ARCH__)
  __trap();
  return local;
#elif defined(IRIS_EMULATED_DEVICE)
  return static_cast<T*>(emuMapShared(const_cast<void*>(static_cast<const void*>(local)), rank));
#else
  return local;
#endif
}

}  // namespace iris
