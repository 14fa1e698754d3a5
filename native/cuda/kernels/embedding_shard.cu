// The vocabulary-parallel embedding of tensor parallelism: each rank holds a block of the table's rows and looks up
// the ids that fall in it, writing zeros for the others; the ranks' outputs summed (one all-reduce) give the whole
// table's embeddings. One block per token copies its row in 16-, 4- or 2-byte units, as gatherRows does.
#include <cstdint>

#include "iris_cuda.h"
#include "tensor_parallel.h"

namespace iris {

namespace {

// ==== kernels ====

template <typename U>
__global__ void embeddingShardKernel(U* out, const U* table, const int32_t* ids, int64_t start, size_t rows, size_t rowUnits) {
  const int64_t r = int64_t(ids[blockIdx.x]) - start;
  U* dst = out + size_t(blockIdx.x) * rowUnits;
  const bool held = r >= 0 && size_t(r) < rows;
  const U* src = table + (held ? size_t(r) : 0) * rowUnits;
  for (size_t j = threadIdx.x; j < rowUnits; j += blockDim.x) dst[j] = held ? src[j] : U{};
}

size_t unitFor(size_t rowBytes, const void* a, const void* b) {
  const size_t bits = rowBytes | reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b);
  return bits % 16 == 0 ? 16 : bits % 4 == 0 ? 4 : 2;
}

}  // namespace

// ==== launcher ====

std::string embeddingShard(void* out, const void* table, const int32_t* ids, size_t m, int64_t start, size_t rows,
                           size_t rowBytes) {
  if (m == 0 || rowBytes == 0) return "";
  const size_t unit = unitFor(rowBytes, out, table);
  const size_t units = rowBytes / unit;
  const unsigned threads = units >= 256 ? 256 : units >= 64 ? 64 : 32;
  if (unit == 16) {
    embeddingShardKernel<<<unsigned(m), threads, 0, stream()>>>(static_cast<uint4*>(out), static_cast<const uint4*>(table), ids, start, rows, units);
  } else if (unit == 4) {
    embeddingShardKernel<<<unsigned(m), threads, 0, stream()>>>(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(table), ids, start, rows, units);
  } else {
    embeddingShardKernel<<<unsigned(m), threads, 0, stream()>>>(static_cast<uint16_t*>(out), static_cast<const uint16_t*>(table), ids, start, rows, units);
  }
  return launchStatus("embeddingShard");
}

}  // namespace iris
