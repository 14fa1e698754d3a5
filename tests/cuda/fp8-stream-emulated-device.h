// The emulated device the FP8 weight-streaming emulations (fp8-stream-emulation.cc, fp8-shared-expert-emulation.cc)
// compile their kernels on: fibers for threads (fiber-blocks.h), 256 a block, two multiprocessors of one block each,
// warp collectives and mma.m16n8k32 over E4M3 from the PTX ISA's table (ptx-emulation.h), __shared__ as thread_local,
// the quantized x as the kernel's dynamic shared memory, and the launcher's choices each case sets. Include it first,
// then the kernel header under test.
#pragma once
#define __launch_bounds__(...)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "iris_cuda.h"  // Fp8RowsArgs; cuda_runtime.h gives the vector types and the qualifiers as host attributes
#include "ptx-emulation.h"

// ==== the CUDA built-ins the kernel uses, per emulated thread ====

#include "emulation-values.h"
#include "fiber-blocks.h"

// A warp collective's operands, a row a lane (the last lane to arrive computes an mma for the whole warp).
struct Slot {
  uint32_t v[32];
  uint32_t a[32][4], b[32][2];
  float c[32][4];
};
using Block = EmuBlock<Slot, 256>;
#define IRIS_EMULATED_MULTIPROCESSORS 2  // two multiprocessors of one block each: every block streams several passes
// BulkRows's tile (up to kBulkMaxShared with x): the largest dynamic shared memory a quantizing kernel takes.
#define IRIS_EMULATED_DYNAMIC_SHARED (112 * 1024)
#include "emulated-device.h"
#include "emulated-tensor-cores.h"
#include "emulated-bulk-copy.h"

// The occupancy the launcher asks for: one block a multiprocessor unless a case says otherwise.
int emuBlocksPerSM = 1;
#define cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, ...) (*(blocks) = emuBlocksPerSM, cudaSuccess)

#include "dependent_launch.cuh"  // launchDependent through emuLaunch; before the macros below rename gridDim
#include "mma_frag.cuh"

#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim
#define gridDim emuGridDim
#include "float_io.cuh"
#include "fp8.cuh"
#undef __shared__
#define __shared__ thread_local
namespace iris::fp8stream {
alignas(16) thread_local uint8_t quantizedX[IRIS_EMULATED_DYNAMIC_SHARED];  // the kernel's dynamic shared memory
}  // namespace iris::fp8stream

// The launchers' choices, set by each case (fp8_gemv.cu holds them in the addon); the kernel headers declare them.
namespace iris::fp8stream {
bool tensorCores = false;
bool bulkRows = false;  // the tensor-core products by bulk copies (BulkRows) where they serve
int batch = 0;
size_t prefetchBudget = 0;  // bytes; the prefetches themselves do nothing here, their sizes go through the launchers
bool productOnTensorCores(size_t) { return tensorCores; }
bool productByBulkCopy() { return bulkRows; }
int forcedFp8StreamBatch() { return batch; }
size_t prefetchBudgetBytes() { return prefetchBudget; }
bool pairedDownDependent() { return true; }  // an ordinary launch runs the same here
}  // namespace iris::fp8stream
