// Runs a kernel's threads one after another on the cpu, for kernels whose threads never wait for each other (no
// barrier, no warp collective reached: rotary_apply.cuh, rotary_store_kv.cuh): the CUDA indices as globals that the
// renamed built-ins read, and a launch that visits every thread of a grid in order. Include it after any header
// that names a launch configuration's `gridDim` (dependent_launch.cuh) and before the kernels.
#pragma once

#include <cuda_runtime.h>

dim3 emuThreadIdx, emuBlockIdx, emuBlockDim, emuGridDim;
#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim
#define gridDim emuGridDim

// Every thread of a grid of `blocks` blocks of `threads`, one after another.
template <typename Body>
void launchSerially(dim3 blocks, unsigned threads, Body body) {
  emuGridDim = blocks;
  emuBlockDim = dim3(threads);
  for (unsigned y = 0; y < blocks.y; y++) {
    for (unsigned x = 0; x < blocks.x; x++) {
      for (unsigned t = 0; t < threads; t++) {
        emuBlockIdx = dim3(x, y);
        emuThreadIdx = dim3(t);
        body();
      }
    }
  }
}
