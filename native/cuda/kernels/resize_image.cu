// Image resizing: an interleaved 8-bit RGB picture resized with fixed-point weights per axis (see
// Backend.resizeImage in src/runtime/backend.ts), the integer arithmetic of src/core/resample-passes.ts
// (torchvision's antialiased resize of uint8), so the bytes equal the cpu processor's:
// - the horizontal pass runs first, into a uint8 intermediate when the vertical one follows (rounded and clamped);
//   an axis without weights is skipped, and with neither the picture is copied;
// - each output is (2^(precision-1) + sum(pixel * weight)) >> precision in int32 (every sum fits), clamped to 0..255.
// An axis's weights are one I32 table: start[out], count[out], then `taps` weights per output index.
#include "float_io.cuh"

namespace iris {

namespace {

constexpr int kChannels = 3;

// One axis's table read in place: the first input, the input count and the weights of each output index.
struct AxisTable {
  const int32_t* start;
  const int32_t* count;
  const int32_t* weights;
  __device__ AxisTable(const int32_t* table, int outSize)
      : start(table), count(table + outSize), weights(table + 2 * size_t(outSize)) {}
};

__device__ __forceinline__ uint8_t clampByte(int acc, int precision) {
  const int v = acc >> precision;
  return uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
}

// ==== kernels ====

// One thread per output pixel (its three channels): row y of the input, output column x.
__global__ void resizeWidthKernel(uint8_t* out, const uint8_t* in, const int32_t* table, int inWidth, int outWidth,
                                  int height, int taps, int precision) {
  const AxisTable axis(table, outWidth);
  const int half = 1 << (precision - 1);
  const size_t n = size_t(outWidth) * height;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int x = int(i % outWidth);
    const size_t y = i / outWidth;
    const uint8_t* p = in + (y * inWidth + axis.start[x]) * kChannels;
    const int32_t* w = axis.weights + size_t(x) * taps;
    int r = half, g = half, b = half;
    for (int j = 0, taken = axis.count[x]; j < taken; ++j, p += kChannels) {
      const int wj = w[j];
      r += int(p[0]) * wj;
      g += int(p[1]) * wj;
      b += int(p[2]) * wj;
    }
    uint8_t* o = out + i * kChannels;
    o[0] = clampByte(r, precision);
    o[1] = clampByte(g, precision);
    o[2] = clampByte(b, precision);
  }
}

// One thread per output byte, in output order so the loads and stores coalesce: byte k of output row y sums byte k
// of input rows start[y] .. start[y] + count[y] - 1.
__global__ void resizeHeightKernel(uint8_t* out, const uint8_t* in, const int32_t* table, int rowBytes, int outHeight,
                                   int taps, int precision) {
  const AxisTable axis(table, outHeight);
  const int half = 1 << (precision - 1);
  const size_t n = size_t(rowBytes) * outHeight;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int y = int(i / rowBytes);
    const size_t k = i % rowBytes;
    const uint8_t* p = in + size_t(axis.start[y]) * rowBytes + k;
    const int32_t* w = axis.weights + size_t(y) * taps;
    int acc = half;
    for (int j = 0, taken = axis.count[y]; j < taken; ++j, p += rowBytes) acc += int(*p) * w[j];
    out[i] = clampByte(acc, precision);
  }
}

}  // namespace

// ==== launcher ====

std::string resizeImage(const ResizeImageArgs& a) {
  if (a.srcWidth <= 0 || a.srcHeight <= 0 || a.width <= 0 || a.height <= 0) return "resizeImage: sizes must be positive";
  const bool horizontal = a.width != a.srcWidth, vertical = a.height != a.srcHeight;
  if (horizontal != (a.hTable != nullptr) || vertical != (a.vTable != nullptr)) {
    return "resizeImage: weights must be given exactly for the axes whose size changes";
  }
  if ((horizontal && (a.hPrecision < 1 || a.hPrecision > 22 || a.hTaps < 1)) ||
      (vertical && (a.vPrecision < 1 || a.vPrecision > 22 || a.vTaps < 1))) {
    return "resizeImage: taps or precision out of range";
  }
  const auto* in = static_cast<const uint8_t*>(a.pixels);
  auto* out = static_cast<uint8_t*>(a.out);
  if (!horizontal && !vertical) {
    const size_t bytes = size_t(a.width) * a.height * kChannels;
    return cudaStatus(cudaMemcpyAsync(out, in, bytes, cudaMemcpyDeviceToDevice, stream()), "resizeImage copy");
  }
  if (horizontal) {
    if (vertical && a.scratch == nullptr) return "resizeImage: two passes need scratch";
    uint8_t* dst = vertical ? static_cast<uint8_t*>(a.scratch) : out;
    const size_t n = size_t(a.width) * a.srcHeight;
    resizeWidthKernel<<<blocksFor(n), kThreads, 0, stream()>>>(dst, in, a.hTable, a.srcWidth, a.width, a.srcHeight,
                                                                a.hTaps, a.hPrecision);
    const std::string status = launchStatus("resizeImage (horizontal)");
    if (!status.empty() || !vertical) return status;
    in = dst;
  }
  const int rowBytes = a.width * kChannels;
  const size_t n = size_t(rowBytes) * a.height;
  resizeHeightKernel<<<blocksFor(n), kThreads, 0, stream()>>>(out, in, a.vTable, rowBytes, a.height, a.vTaps,
                                                              a.vPrecision);
  return launchStatus("resizeImage (vertical)");
}

}  // namespace iris
