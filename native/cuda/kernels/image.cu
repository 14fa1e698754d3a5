// Image preprocessing: Qwen2-VL's patch rows of one resized RGB picture from its 8-bit pixels (see
// Backend.patchifyImage in src/runtime/backend.ts). One thread per output element, in output order so the stores
// coalesce; each maps back to its pixel byte and takes that level's value from the channel's table (the
// processor's rescale + normalize, precomputed as it rounds them), so the result equals the cpu processor's output
// after the one rounding to the storage type.
#include "float_io.cuh"

namespace iris {

namespace {

// ==== kernels ====

template <typename T>
__global__ void patchifyKernel(T* out, const uint8_t* pixels, const float* table, size_t rows, int width, int patch,
                               int merge, int temporal) {
  const int plane = patch * patch, perChannel = temporal * plane, patchDim = 3 * perChannel;
  const int blocksW = width / patch / merge;
  const size_t n = rows * size_t(patchDim);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int row = int(i / patchDim), col = int(i % patchDim);
    const int block = row / (merge * merge), inner = row % (merge * merge);
    const int gy = (block / blocksW) * merge + inner / merge, gx = (block % blocksW) * merge + inner % merge;
    const int c = col / perChannel, within = col % plane;
    const int y = gy * patch + within / patch, x = gx * patch + within % patch;
    out[i] = fromFloat<T>(table[c * 256 + pixels[(size_t(y) * width + x) * 3 + c]]);
  }
}

}  // namespace

// ==== launcher ====

std::string patchifyImage(int dtype, void* out, const void* pixels, const float* table, int width, int height, int patch,
                          int merge, int temporal) {
  if (width <= 0 || height <= 0 || width % (patch * merge) != 0 || height % (patch * merge) != 0) {
    return "patchifyImage: sides must be positive multiples of patch * merge";
  }
  const size_t rows = size_t(width / patch) * (height / patch);
  const size_t n = rows * 3 * temporal * patch * patch;
  IRIS_FLOAT_DISPATCH(dtype, T, {
    patchifyKernel<T><<<blocksFor(n), kThreads, 0, stream()>>>(static_cast<T*>(out), static_cast<const uint8_t*>(pixels),
                                                                table, rows, width, patch, merge, temporal);
  });
  return launchStatus("patchifyImage");
}

}  // namespace iris
