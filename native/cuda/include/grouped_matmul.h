// Grouped matrix products of the mixture of experts (kernels/grouped_matmul.cu), used by kernels/moe.cu: rows of
// `a` grouped by expert on the device, each group multiplied by its own expert's weights, with no host knowledge of
// the group sizes (the grids cover every possible grouping; blocks without work exit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace iris {

struct GroupedMatmulArgs {
  int dtype = 0;
  const void* a = nullptr;        // [rows, K]: the rows of expert e are offsets[e] .. offsets[e+1]-1
  const void* w = nullptr;        // [E, K, N] (x·W layout: row k holds the N outputs' weights)
  void* out = nullptr;            // [*, N]: row p of the product goes to out row rowMap[p] (or p when rowMap is null)
  const int32_t* rowMap = nullptr;
  const int32_t* offsets = nullptr;  // I32 [E+1] on the device, from 0 to rows
  float* accumulator = nullptr;   // F32 [rows, N] scratch for the few-rows path (see groupedMatmulScratch)
  size_t rows = 0, K = 0, N = 0, E = 0;
};

// F32 scratch elements `groupedMatmul` needs in `accumulator` for these sizes (0 when its path needs none).
size_t groupedMatmulScratch(int dtype, size_t rows, size_t N);

// out[rowMap[p]] = a[p] · w[e(p)] for every row p, fp32 sums rounded once to the storage type. Paths: bf16 with
// K and N multiples of 8 and 16-byte aligned tensors take tensor cores (more than 8 rows) or a weight-streaming
// split-K kernel (at most 8 rows: each block reads only its expert's weights, experts without rows read nothing);
// anything else a plain one-thread-per-output kernel.
std::string groupedMatmul(const GroupedMatmulArgs& args);

}  // namespace iris
