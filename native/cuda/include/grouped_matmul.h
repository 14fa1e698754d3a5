// Grouped matrix products of the mixture of experts (kernels/grouped_matmul.cu), used by kernels/moe.cu: rows of
// `a` grouped by expert on the device, each group multiplied by its own expert's weights, with no host knowledge of
// the group sizes (the grids cover every possible grouping; blocks without work exit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace iris {

// The most rows the weight-streaming path takes (all of them may belong to one expert).
constexpr size_t kGroupedStreamRows = 8;

struct GroupedMatmulArgs {
  int dtype = 0;
  const void* a = nullptr;        // [rows, K]: the rows of expert e are offsets[e] .. offsets[e+1]-1
  const void* w = nullptr;        // [E, K, N] (x·W layout: row k holds the N outputs' weights)
  void* out = nullptr;            // [*, N]: row p of the product goes to out row rowMap[p] (or p when rowMap is null)
  const int32_t* rowMap = nullptr;
  const int32_t* offsets = nullptr;  // I32 [E+1] on the device, from 0 to rows
  float* accumulator = nullptr;   // F32 [rows, N], zeroed, for the weight-streaming path (groupedMatmulStreams)
  bool siluMul = false;           // streaming path only: out [rows, N/2] = silu(gate) * up of the rounded product
  size_t rows = 0, K = 0, N = 0, E = 0;
};

// Whether these arguments take the weight-streaming path (bf16, at most 8 rows, aligned, K and N multiples of 8),
// which needs `accumulator` zeroed beforehand.
bool groupedMatmulStreams(const GroupedMatmulArgs& args);

// out[rowMap[p]] = a[p] · w[e(p)] for every row p, fp32 sums rounded once to the storage type. Paths: bf16 with
// K and N multiples of 8 and 16-byte aligned tensors take tensor cores (more than 8 rows) or a weight-streaming
// split-K kernel (at most 8 rows: blocks exist only for experts with rows, each reading its expert's weights);
// anything else a plain one-thread-per-output kernel.
std::string groupedMatmul(const GroupedMatmulArgs& args);

}  // namespace iris
