// The row tiles of rows grouped by expert (offsets [E+1] on the device, in expert order), for the grouped products
// whose grids cover every grouping the host cannot see (kernels/grouped_matmul.cu, kernels/fp8_grouped_mma.cu): tile
// i is the i-th (expert, tile of `tileRows` rows) pair, counting each expert's tiles in expert order. A block finds
// its own by walking the offsets; blocks past the last tile exit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iris {

// The most row tiles `rows` rows over E experts can make: each of the at most min(rows, E) experts with rows leaves
// less than one tile unfilled.
inline size_t maxRowTiles(size_t rows, size_t E, size_t tileRows) {
  const size_t groups = rows < E ? rows : E;
  return (rows + groups * (tileRows - 1)) / tileRows;
}

// The expert of row tile `tile`, the tile's first row and its expert's end; false past the last tile.
__device__ __forceinline__ bool findRowTile(const int32_t* offsets, int E, int tileRows, int tile, int* expert, int* rowStart,
                                            int* rowEnd) {
  for (int e = 0; e < E; e++) {
    const int start = offsets[e], end = offsets[e + 1];
    const int tiles = (end - start + tileRows - 1) / tileRows;
    if (tile < tiles) {
      *expert = e;
      *rowStart = start + tile * tileRows;
      *rowEnd = end;
      return true;
    }
    tile -= tiles;
  }
  return false;
}

}  // namespace iris
