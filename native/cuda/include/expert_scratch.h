// What the expert kernels (kernels/moe.cu, kernels/fp8_moe.cu) check and how they get their scratch: sizes an int32
// grid can index, a float dtype, and the caller's scratch block (the step's arena on the TypeScript side, so a
// captured graph keeps no memory of its own) checked for size and alignment, or without one a caching-allocator block
// given back in stream order once `run` has enqueued the work that uses it.
#pragma once

#include <cstdint>
#include <string>

#include "iris_cuda.h"

namespace iris {

inline size_t alignScratch(size_t bytes) { return (bytes + 255) / 256 * 256; }

// The routing tables that open every expert kernel's scratch (moeRoute's outputs), and where the rest begins.
struct RoutingTables {
  size_t expertOf = 0, score = 0, offsets = 0, perm = 0, end = 0;
};

inline RoutingTables planRoutingTables(size_t T, size_t E) {
  RoutingTables r;
  r.score = r.expertOf + alignScratch(T * 4);
  r.offsets = r.score + alignScratch(T * 4);
  r.perm = r.offsets + alignScratch((E + 1) * 4);
  r.end = r.perm + alignScratch(T * 4);
  return r;
}

template <typename Run>
std::string withExpertScratch(const char* kernel, int dtype, size_t T, size_t H, size_t I, size_t needed, void* scratch,
                              size_t scratchBytes, Run run) {
  const std::string name(kernel);
  if (I == 0) return name + ": the experts' intermediate size is 0";
  if (T > size_t(INT32_MAX) || H > size_t(INT32_MAX) || 2 * I > size_t(INT32_MAX)) return name + ": sizes too large";
  if (dtype != kF32 && dtype != kBF16 && dtype != kF16) return name + ": unsupported dtype " + std::to_string(dtype);
  if (scratch != nullptr && (scratchBytes < needed || reinterpret_cast<uintptr_t>(scratch) % 256 != 0)) {
    return name + ": scratch of " + std::to_string(scratchBytes) + " bytes, " + std::to_string(needed) + " needed (256-byte aligned)";
  }
  void* base = scratch;
  if (base == nullptr) {
    const std::string status = deviceMalloc(needed, &base);
    if (!status.empty()) return name + " scratch: " + status;
  }
  const std::string status = run(static_cast<unsigned char*>(base));
  if (scratch == nullptr) deviceFree(base);
  return status;
}

}  // namespace iris
