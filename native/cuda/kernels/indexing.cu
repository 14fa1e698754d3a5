// Row movement: gather (embedding, gatherRows), scatter (scatterRows) and the KV-cache store. One block per row
// copies it in the widest unit the pointers and the row size allow (16, 4 or 2 bytes). Indices out of range are
// skipped on the device (the cpu backend reports them; a kernel cannot throw), padding slots (< 0) by contract.
#include <cstdint>

#include "float_io.cuh"

namespace iris {

namespace {

// ==== kernels ====

template <typename U>
__global__ void gatherKernel(U* out, const U* x, const int32_t* index, size_t rows, size_t rowUnits) {
  const int32_t r = index[blockIdx.x];
  U* dst = out + size_t(blockIdx.x) * rowUnits;
  if (r < 0 || size_t(r) >= rows) return;
  const U* src = x + size_t(r) * rowUnits;
  for (size_t j = threadIdx.x; j < rowUnits; j += blockDim.x) dst[j] = src[j];
}

template <typename U>
__global__ void scatterKernel(U* dst, const int32_t* index, const U* src, size_t rows, size_t rowUnits) {
  const int32_t r = index[blockIdx.x];
  if (r < 0 || size_t(r) >= rows) return;
  U* to = dst + size_t(r) * rowUnits;
  const U* from = src + size_t(blockIdx.x) * rowUnits;
  for (size_t j = threadIdx.x; j < rowUnits; j += blockDim.x) to[j] = from[j];
}

template <typename U>
__global__ void storeKVKernel(const U* k, const U* v, U* kCache, U* vCache, const int32_t* slots, size_t numSlots,
                              size_t rowUnits) {
  const int32_t slot = slots[blockIdx.x];
  if (slot < 0 || size_t(slot) >= numSlots) return;
  const size_t from = size_t(blockIdx.x) * rowUnits, to = size_t(slot) * rowUnits;
  for (size_t j = threadIdx.x; j < rowUnits; j += blockDim.x) {
    kCache[to + j] = k[from + j];
    vCache[to + j] = v[from + j];
  }
}

size_t unitFor(size_t rowBytes, std::initializer_list<const void*> pointers) {
  size_t bits = rowBytes;
  for (const void* p : pointers) bits |= reinterpret_cast<uintptr_t>(p);
  if (bits % 16 == 0) return 16;
  if (bits % 4 == 0) return 4;
  return 2;
}

unsigned threadsFor(size_t units) {
  return units >= 256 ? 256 : units >= 128 ? 128 : units >= 64 ? 64 : 32;
}

#define IRIS_UNIT_DISPATCH(unit, U, ...)                 \
  if (unit == 16) { using U = uint4; __VA_ARGS__; }      \
  else if (unit == 4) { using U = uint32_t; __VA_ARGS__; } \
  else { using U = uint16_t; __VA_ARGS__; }

}  // namespace

// ==== launchers ====

std::string gatherRows(void* out, const void* x, const int32_t* index, size_t m, size_t rows, size_t rowBytes) {
  if (m == 0 || rowBytes == 0) return "";
  const size_t unit = unitFor(rowBytes, {out, x});
  const size_t units = rowBytes / unit;
  IRIS_UNIT_DISPATCH(unit, U,
    gatherKernel<U><<<unsigned(m), threadsFor(units), 0, stream()>>>(static_cast<U*>(out), static_cast<const U*>(x), index, rows, units));
  return launchStatus("gatherRows");
}

std::string scatterRows(void* dst, const int32_t* index, const void* src, size_t n, size_t rows, size_t rowBytes) {
  if (n == 0 || rowBytes == 0) return "";
  const size_t unit = unitFor(rowBytes, {dst, src});
  const size_t units = rowBytes / unit;
  IRIS_UNIT_DISPATCH(unit, U,
    scatterKernel<U><<<unsigned(n), threadsFor(units), 0, stream()>>>(static_cast<U*>(dst), index, static_cast<const U*>(src), rows, units));
  return launchStatus("scatterRows");
}

std::string storeKV(const void* k, const void* v, void* kCache, void* vCache, const int32_t* slots, size_t T,
                    size_t rowBytes, size_t numSlots) {
  if (T == 0 || rowBytes == 0) return "";
  const size_t unit = unitFor(rowBytes, {k, v, kCache, vCache});
  const size_t units = rowBytes / unit;
  IRIS_UNIT_DISPATCH(unit, U,
    storeKVKernel<U><<<unsigned(T), threadsFor(units), 0, stream()>>>(static_cast<const U*>(k), static_cast<const U*>(v),
      static_cast<U*>(kCache), static_cast<U*>(vCache), slots, numSlots, units));
  return launchStatus("storeKV");
}

}  // namespace iris
