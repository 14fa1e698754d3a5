// The quantizing FP8 product's weight streaming on the tensor cores (MmaRows, a policy of fp8_quantizing.cuh's kernel
// beside fp8_stream.cuh's WarpPerRow): mma.m16n8k32 over E4M3 (sm_89 and later) takes the weights as they come from
// memory and x as the block quantized it, so nothing is converted.
//
// Why. Decode reads each weight once: the floor is the weights' bytes at the H200's ~4.2 TB/s. Scout at batch 1,
// µs a call measured (WarpPerRow) against that floor: q|k|v 17.1 (8.7: 7168 x 5120 bytes), o 11.6 (6.2: 5120 x 5120),
// the routed expert's gate|up and down 51.4 (30: 16384 x 5120 + 5120 x 8192), the shared expert's gate|up 29.6 (20)
// and down 16.0 (10). Nsight Compute on q|k|v: DRAM 43% of peak, issue slots 51% busy, IPC 2.55, ~129 warp
// instructions a 512 bytes of weights (each lane decodes its 16 weight bytes and the 16 matching x bytes to float:
// ~48 conversions and 16 FFMA a chunk). Streaming 16 bytes a cycle a multiprocessor that way takes an IPC of ~4:
// the CUDA-core kernel is bound by instructions, not memory. Here a warp's step of 1 KB (16 rows x 64 bytes) costs
// two 16-byte global loads, one 16-byte shared load, two mma and eight FADD a lane: ~15 instructions a KB against
// ~260, so issue is no longer the limit and the loads in flight set the rate. Expected: ~3.5 TB/s or better, q|k|v
// ~10.5 µs, o ~7.5, the experts ~36, shared gate|up ~24, down ~12: ~36 µs a layer less, ~1.7 ms of a 48-layer step
// (issue 11: 130 tok/s at 7.7 ms a step, 175 wants 5.7).
//
// Layout. A block's pass covers 16 weight rows (one m16 tile: A's rows are output channels, B's 8 columns the block's
// x rows, those past `rows` zero); its 8 warps split K in contiguous slices of 64-byte steps and add their partial
// tiles through shared memory at the end of the pass. The sum over k is order-free, so K is permuted alike in A and
// B: lane (g, t) (g = lane / 4, t = lane % 4) loads the 16 bytes at 64s + 16t of row g (and of row g + 8) with one
// streaming load each; words 0 and 1 are a0 / a2 (a1 / a3 from row g + 8) of one mma, words 2 and 3 of the next; b0 /
// b1 are x row g's bytes at the same offsets (one 16-byte shared load for both mma). The PTX ISA's m16n8k32 fragments
// for 8-bit types: a0 (g, k 4t..4t+3), a1 (g+8, 4t..), a2 (g, 4t+16..4t+19), a3 (g+8, 4t+16..); b0 (k 4t..4t+3,
// column g), b1 (k 4t+16..4t+19, column g); c0, c1 (g, 2t), (g, 2t+1); c2, c3 (g+8, 2t), (g+8, 2t+1).
//
// Precision. Hopper's FP8 tensor cores keep ~14 bits while they add a run of products into C (DeepSeek-V3's report;
// cuBLASLt's FP8 products promote partial sums to fp32 for it). Each mma here starts from a zero C, so the tensor
// core adds 32 products, and the warp's fp32 sums take its result with an FADD (4 a mma: cheap next to the loads).
// The scales (x's per token, the weights' per channel) and the bias come once, after the sum (fp8_epilogue.cuh).
#pragma once

#include "fp8_stream.cuh"
#include "mma_frag.cuh"

namespace iris {
namespace fp8stream {

// acc += a · b through a zero C (see Precision above).
__device__ __forceinline__ void mmaFromZero(float (&acc)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                            uint32_t b1) {
  const uint32_t a[4] = {a0, a1, a2, a3};
  float part[4] = {0.f, 0.f, 0.f, 0.f};
  mma::mmaE4m3(part, a, b0, b1);
#pragma unroll
  for (int i = 0; i < 4; i++) acc[i] += part[i];
}

// One 64-byte step: this lane's 16 bytes of rows g (lo) and g + 8 (hi) and of x at the same k, two mma.
__device__ __forceinline__ void mmaStep(float (&acc)[4], uint4 lo, uint4 hi, uint4 x) {
  mmaFromZero(acc, lo.x, hi.x, lo.y, hi.y, x.x, x.y);
  mmaFromZero(acc, lo.z, hi.z, lo.w, hi.w, x.z, x.w);
}

template <int MT, int BATCH, typename OutT>
struct MmaRows {
  static_assert(MT <= 8, "B has 8 columns");
  static constexpr const char* kName = "fp8 product (weight streaming on the tensor cores, x quantized in the block)";
  using Out = OutT;
  static constexpr bool kTensorCores = true;
  static constexpr int kMaxRows = MT;
  static constexpr int kRows = 16;  // weight rows a block streams a pass: one m16 tile
  static constexpr int kWarpsPerRow = kWarps;  // each warp a slice of K
  // 64-byte steps a lane has in flight: BATCH 16-byte loads, two a step (rows g and g + 8), as WarpPerRow's BATCH.
  static constexpr int kSteps = BATCH / 2 > 0 ? BATCH / 2 : 1;
  // 4 blocks a multiprocessor at the default batch (64 registers: 60 to 62 used on sm_90a, no spills); the forced
  // larger batches as ptxas chooses (~90 and ~125 registers), in the shared expert's kernels (fp8_shared_expert.cuh).
  static constexpr int kMinBlocks = BATCH > kBatch ? 1 : 4;
  // The plain quantizing kernel's bound (fp8_quantizing.cuh): 4 blocks up to 8 loads a lane too (4 to 12 bytes spilled
  // at 64 registers; 128 KB in flight a multiprocessor, as bf16's gemv streams at 4.0-4.3 TB/s with 8 loads a lane and
  // 4 blocks). Measured slower than 4 loads all the same (session 14, H200: Scout's q|k|v 16.42 against 13.88 µs,
  // fp8-tiles at K = 8,192 and 4 tiles a multiprocessor 28.71 against 20.77): at 4 loads the products already stream at
  // 4.3-4.9 TB/s once they stream (bench/fp8-timeline-scout.ts); their losses are before and after.
  static constexpr int kMinBlocksAlone = BATCH > 8 ? 1 : 4;
  static constexpr bool kTileABlock = false;  // a resident wave of blocks, each looping over its passes
  // Dynamic shared memory before the block's x rows: none.
  __host__ __device__ static constexpr size_t sharedBefore(size_t) { return 0; }

  // This warp's slice of K, in 64-byte steps [first, end) (the last step of a row may be partial).
  __device__ __forceinline__ static void slice(size_t K, int* first, int* end) {
    const int steps = int((K / 16 + 3) / 4), per = (steps + kWarps - 1) / kWarps, warp = int(threadIdx.x) / 32;
    *first = min(steps, warp * per);
    *end = min(steps, *first + per);
  }

  // This lane's first kSteps steps of rows r0 + g and r0 + g + 8 (`chunks` 16-byte chunks a row) on their way to L2.
  __device__ __forceinline__ static void prefetchPass(const Fp8RowsArgs& g, int e, int r0, int chunks) {
    const int lane = int(threadIdx.x) % 32;
    int first, end;
    slice(g.K, &first, &end);
    for (int half = 0; half < 2; half++) {
      const int n = r0 + lane / 4 + 8 * half;
      if (n >= int(g.N)) break;
      const uint4* row = rowChunks(g, e, n);
      for (int s = first; s < end && s < first + kSteps; s++) {
        const int c = 4 * s + lane % 4;
        if (c < chunks) prefetchL2(row + c);
      }
    }
  }

  // The block's first pass on its way to L2: where the launcher set g.prefetchBytes, the first that many bytes of
  // this warp's slice of each of the pass's 16 rows (a bulk prefetch a row, lanes 0 to 15), else prefetchPass's batch.
  __device__ __forceinline__ static void prefetchFirst(const Fp8RowsArgs& g, int e, int chunks) {
    const int r0 = int(blockIdx.x) * kRows;
    if (r0 >= int(g.N)) return;
    if (g.prefetchBytes <= 0) {
      prefetchPass(g, e, r0, chunks);
      return;
    }
    const int lane = int(threadIdx.x) % 32;
    int first, end;
    slice(g.K, &first, &end);
    const int begin = 64 * first, stop = min(min(64 * end, 16 * chunks), begin + g.prefetchBytes);
    if (lane < kRows && r0 + lane < int(g.N) && stop > begin) {
      prefetchBytesL2(reinterpret_cast<const uint8_t*>(rowChunks(g, e, r0 + lane)) + begin, stop - begin);
    }
  }

  // out rows start .. start + rows - 1 (the block's x rows), the block's passes of 16 columns r0, r0 + 16 * gridDim.x,
  // ... of expert e's weights, the next pass's first weights on their way to L2 while a pass streams.
  __device__ __forceinline__ static void stream(const Fp8RowsArgs& g, int e, int start, int rows, const uint8_t* xq,
                                                const float* xScale) {
    const int stride = int(gridDim.x) * kRows;
    for (int r0 = int(blockIdx.x) * kRows, pass = 0; r0 < int(g.N); r0 += stride, pass++) {
      if (r0 + stride < int(g.N)) prefetchPass(g, e, r0 + stride, int(g.K) / 16);
      float sum;
      if (streamPass(g, e, rows, r0, pass, xq, &sum)) {
        const int column = int(threadIdx.x) / 16;
        fp8Epilogue<OutT>(g, start + column, e, r0 + int(threadIdx.x) % 16, sum, xScale[column]);
      }
    }
  }

  // Two products of the same shape (a's expert eA, b's expert eB, x rows xqA and xqB) whose sums one epilogue takes
  // together (fp8_shared_expert.cuh: the downs' pairEpilogue, the gate|ups' gatedEpilogue): each pass streams a's 16
  // columns, then b's same 16, and the thread holding a column's sum of a takes b's too: epilogue(p, n, sumA,
  // xScaleA[t], sumB, xScaleB[t]) for the block's x row t (output row p = start + t) and column n.
  template <typename Epilogue>
  __device__ __forceinline__ static void streamPair(const Fp8RowsArgs& a, int eA, const Fp8RowsArgs& b, int eB, int start,
                                                    int rows, const uint8_t* xqA, const float* xScaleA, const uint8_t* xqB,
                                                    const float* xScaleB, Epilogue epilogue) {
    const int stride = int(gridDim.x) * kRows, chunks = int(a.K) / 16;
    for (int r0 = int(blockIdx.x) * kRows, pass = 0; r0 < int(a.N); r0 += stride, pass += 2) {
      if (r0 + stride < int(a.N)) {
        prefetchPass(a, eA, r0 + stride, chunks);
        prefetchPass(b, eB, r0 + stride, chunks);
      }
      float sumA, sumB;
      const bool held = streamPass(a, eA, rows, r0, pass, xqA, &sumA);
      streamPass(b, eB, rows, r0, pass + 1, xqB, &sumB);
      if (held) {
        const int column = int(threadIdx.x) / 16;
        epilogue(start + column, r0 + int(threadIdx.x) % 16, sumA, xScaleA[column], sumB, xScaleB[column]);
      }
    }
  }

  // One pass: columns r0 .. r0 + 15 of expert e's weights against the block's `rows` x rows. The finished sum of
  // (x row threadIdx.x / 16, column r0 + threadIdx.x % 16) goes to *sum of the thread that holds one (true). `pass`
  // picks the half of the partial sums' buffer, so one barrier a pass keeps a pass's sums from the next one's.
  __device__ __forceinline__ static bool streamPass(const Fp8RowsArgs& g, int e, int rows, int r0, int pass,
                                                    const uint8_t* xq, float* sum) {
    const int lane = int(threadIdx.x) % 32, gr = lane / 4, t = lane % 4;
    const int N = int(g.N), chunks = int(g.K) / 16;
    int first, end;
    slice(g.K, &first, &end);
    // This lane's chunk of step `first` in rows g and g + 8 and in x, moving a batch at a time. Rows past N and x rows
    // past `rows` feed only sums never stored (mma keeps A's rows and B's columns apart): they read row N - 1 and x
    // row 0 rather than branch.
    const int c0 = 4 * first + t;
    const uint4* lo = rowChunks(g, e, min(r0 + gr, N - 1)) + c0;
    const uint4* hi = rowChunks(g, e, min(r0 + gr + 8, N - 1)) + c0;
    const uint4* x = reinterpret_cast<const uint4*>(xq) + (gr < rows ? gr : 0) * chunks + c0;
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll 1
    for (int s = first; s < end; s += kSteps, lo += 4 * kSteps, hi += 4 * kSteps, x += 4 * kSteps) {
      if constexpr (kSteps <= 2) {
        // Chunks past the slice, or past the row (the last step of a row whose K is not a multiple of 64), are zeros.
        bool in[kSteps];
        uint4 wl[kSteps], wh[kSteps];
#pragma unroll
        for (int b = 0; b < kSteps; b++) {
          in[b] = s + b < end && 4 * (s + b) + t < chunks;
          wl[b] = wh[b] = make_uint4(0, 0, 0, 0);
          if (in[b]) {
            wl[b] = __ldcs(lo + 4 * b);
            wh[b] = __ldcs(hi + 4 * b);
          }
        }
#pragma unroll
        for (int b = 0; b < kSteps; b++) {
          if (s + b >= end) break;  // the whole warp alike: mma is a warp's instruction
          uint4 xv = make_uint4(0, 0, 0, 0);
          if (in[b]) xv = x[4 * b];
          mmaStep(acc, wl[b], wh[b], xv);
        }
      } else {
        // Deeper batches (setFp8StreamBatch 8 or 16) hold no predicate across the batch, to fit 8 loads a lane in 64
        // registers: a step past the slice or a chunk past the row loads the slice's last step or the row's last chunk
        // (in bounds), zeroed at use, so the same sums as above.
        uint4 wl[kSteps], wh[kSteps];
#pragma unroll
        for (int b = 0; b < kSteps; b++) {
          const int c = 4 * min(s + b, end - 1) + t, back = min(c, chunks - 1) - (4 * (s + b) + t);
          wl[b] = __ldcs(lo + 4 * b + back);
          wh[b] = __ldcs(hi + 4 * b + back);
        }
#pragma unroll
        for (int b = 0; b < kSteps; b++) {
          if (s + b >= end) break;
          const uint4 zero = make_uint4(0, 0, 0, 0);
          const bool in = 4 * (s + b) + t < chunks;
          mmaStep(acc, in ? wl[b] : zero, in ? wh[b] : zero, in ? x[4 * b] : zero);
        }
      }
    }
    return sumWarps(acc, rows, r0, N, pass, sum);
  }

  // The pass's sums over the warps' slices of K, each warp's tile `acc` (its mma's C) through shared memory, in warp
  // order: the finished sum of (x row threadIdx.x / 16, column r0 + threadIdx.x % 16) goes to *sum of the thread that
  // holds one (true). `pass` picks the half of the buffer, so one barrier a pass keeps a pass's sums from the next one's.
  __device__ __forceinline__ static bool sumWarps(const float (&acc)[4], int rows, int r0, int N, int pass, float* sum) {
    __shared__ float partial[2][kWarps][MT][16];
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, gr = lane / 4, t = lane % 4;
    // c_i holds (row gr + 8 (i / 2), column 2t + i % 2): the columns below MT go to this warp's partial tile.
    float (&mine)[MT][16] = partial[pass & 1][warp];
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const int column = 2 * t + i % 2;
      if (column < MT) mine[column][gr + 8 * (i / 2)] = acc[i];
    }
    __syncthreads();
    const int column = int(threadIdx.x) / 16, r = int(threadIdx.x) % 16;
    if (column >= rows || r0 + r >= N) return false;
    float total = 0.f;
#pragma unroll
    for (int k = 0; k < kWarps; k++) total += partial[pass & 1][k][column][r];
    *sum = total;
    return true;
  }
};

}  // namespace fp8stream
}  // namespace iris
