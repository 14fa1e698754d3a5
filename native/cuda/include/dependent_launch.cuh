// Hopper's programmatic dependent launch for the decode step's chain of small kernels. A kernel launched with
// `launchDependent` may start while the kernel before it on the stream still runs: it does its prologue (reads of
// weights, or of inputs written two or more kernels back), then `waitForPrevious()` blocks until that kernel has
// finished and its writes are visible. Right after the wait it calls `releaseNext()`, which lets the kernel after it
// launch early in turn; released only after the wait, a prologue overlaps one kernel and never reads what that
// kernel (the one still running) writes. Every write comes after the wait (no write-after-read race either).
// A graph captures the relaxed dependencies as they are. Before Hopper the launch is an ordinary one and the two
// calls compile to nothing.
#pragma once

#include "iris_cuda.h"

namespace iris {

__device__ __forceinline__ void waitForPrevious() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#elif defined(IRIS_EMULATED_DEVICE)
  emuWaitForPrevious();  // the cpu emulations (tests/cuda/emulated-device.h) check what a thread reads before it
#endif
}

__device__ __forceinline__ void releaseNext() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// The launch, as a programmatic dependent where `dependent` (else an ordinary one: its blocks start once the kernel
// before has ended, and its waitForPrevious returns at once), its blocks in clusters of `clusterX` along x where
// clusterX > 1 (the grid's x a multiple of it; Hopper and later: cluster.cuh).
template <typename... Params, typename... Args>
std::string launchAs(const char* what, bool dependent, unsigned clusterX, void (*kernel)(Params...), dim3 grid, dim3 block,
                     size_t sharedBytes, Args... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = sharedBytes;
  config.stream = stream();
  cudaLaunchAttribute attributes[2] = {};
  unsigned count = 0;
  if (dependent && dependentLaunchSupported()) {
    attributes[count].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attributes[count++].val.programmaticStreamSerializationAllowed = 1;
  }
  if (clusterX > 1) {
    attributes[count].id = cudaLaunchAttributeClusterDimension;
    attributes[count].val.clusterDim.x = clusterX;
    attributes[count].val.clusterDim.y = 1;
    attributes[count++].val.clusterDim.z = 1;
  }
  config.attrs = attributes;
  config.numAttrs = count;
  const cudaError_t launched = cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
  if (launched != cudaSuccess) (void)cudaGetLastError();  // reported here; not again by the next kernel's launch check
  return cudaStatus(launched, what);
}

// The launch as a programmatic dependent in clusters of `clusterX` along x (launchAs).
template <typename... Params, typename... Args>
std::string launchDependentCluster(const char* what, unsigned clusterX, void (*kernel)(Params...), dim3 grid, dim3 block,
                                   size_t sharedBytes, Args... args) {
  return launchAs(what, true, clusterX, kernel, grid, block, sharedBytes, args...);
}

template <typename... Params, typename... Args>
std::string launchDependent(const char* what, void (*kernel)(Params...), dim3 grid, dim3 block, size_t sharedBytes,
                            Args... args) {
  return launchDependentCluster(what, 1u, kernel, grid, block, sharedBytes, args...);
}

}  // namespace iris
