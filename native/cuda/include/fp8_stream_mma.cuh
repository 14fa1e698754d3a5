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

// The passes a block streams, in order: pass j covers 16 weight rows from row r0(j) of matrix wa (a's expert e) or,
// alternately with it for streamPair, of wb (b's one matrix, the same N and K). Rows from blockIdx.x * 16, gridDim.x * 16
// apart. Held by value (the matrices' addresses, not the kernel's Fp8RowsArgs, whose address would move them to the
// stack).
struct BlockPasses {
  const uint8_t* wa;
  const uint8_t* wb;  // null: one matrix
  int N, K;
  __device__ __forceinline__ static BlockPasses of(const Fp8RowsArgs& g, int e) {
    return {reinterpret_cast<const uint8_t*>(rowChunks(g, e, 0)), nullptr, int(g.N), int(g.K)};
  }
  __device__ __forceinline__ static BlockPasses pair(const Fp8RowsArgs& a, int e, const Fp8RowsArgs& b) {
    return {reinterpret_cast<const uint8_t*>(rowChunks(a, e, 0)), reinterpret_cast<const uint8_t*>(rowChunks(b, 0, 0)),
            int(a.N), int(a.K)};
  }
  __device__ __forceinline__ int count() const {
    const int r = int(blockIdx.x) * 16, stride = int(gridDim.x) * 16;
    const int passes = r < N ? (N - 1 - r) / stride + 1 : 0;
    return wb != nullptr ? 2 * passes : passes;
  }
  __device__ __forceinline__ int r0(int j) const {
    return int(blockIdx.x) * 16 + (wb != nullptr ? j >> 1 : j) * int(gridDim.x) * 16;
  }
  // Row n (clamped to N - 1: rows past N feed only sums never stored) of pass j's matrix, as 16-byte chunks.
  __device__ __forceinline__ const uint4* row(int j, int n) const {
    const uint8_t* w = wb != nullptr && (j & 1) != 0 ? wb : wa;
    return reinterpret_cast<const uint4*>(w + size_t(min(n, N - 1)) * size_t(K));
  }
};

template <int MT, int BATCH, typename OutT>
struct MmaRows {
  static_assert(MT <= 8, "B has 8 columns");
  static constexpr const char* kName = "fp8 product (weight streaming on the tensor cores, x quantized in the block)";
  static constexpr int kMaxRows = MT;
  static constexpr int kRows = 16;  // weight rows a block streams a pass: one m16 tile
  static constexpr int kWarpsPerRow = kWarps;  // each warp a slice of K
  // 64-byte steps a lane has in flight (its ring's slots): BATCH, 4 by default (setFp8StreamBatch forces 8 or 16).
  static constexpr int kRing = BATCH;
  // The ring at the front of the kernel's dynamic shared memory: a slot holds a lane's 16 bytes of row g, then of
  // row g + 8, each half 256 threads x 16 bytes in thread order (a warp's 16-byte loads of one half hit 32 banks).
  static constexpr size_t kRingBytes = size_t(kRing) * 2 * kWarps * 32 * 16;
  // 4 blocks a multiprocessor (64 registers; the ring holds the loads in flight, not registers).
  static constexpr int kMinBlocks = 4;

  // This warp's slice of K, in 64-byte steps [first, end) (the last step of a row may be partial).
  __device__ __forceinline__ static void slice(size_t K, int* first, int* end) {
    const int steps = int((K / 16 + 3) / 4), per = (steps + kWarps - 1) / kWarps, warp = int(threadIdx.x) / 32;
    *first = min(steps, warp * per);
    *end = min(steps, *first + per);
  }

  // This thread's half (0: row g, 1: row g + 8) of ring slot `slot`.
  __device__ __forceinline__ static uint4* ringSlot(int slot, int half) {
    return reinterpret_cast<uint4*>(quantizedX) + (2 * slot + half) * kWarps * 32 + int(threadIdx.x);
  }

  // A lane's walk through its steps of the block's passes (its warp's slice of each), issuing each step's two 16-byte
  // copies into the ring kRing steps ahead of their use: one cp.async group a step (an empty one past the last pass),
  // so waiting for all but the newest kRing - 1 groups means the oldest step has landed.
  struct Ring {
    BlockPasses passes;
    int first, end, count, chunks;
    int j, s, slot;  // the next step to issue: pass j, step s, into slot

    __device__ __forceinline__ Ring(const BlockPasses& p, int item) : passes(p) {
      slice(size_t(p.K), &first, &end);
      count = p.count();
      chunks = p.K / 16;
      const int steps = end - first;
      j = steps > 0 ? item / steps : count;
      s = steps > 0 ? first + item % steps : first;
      slot = item % kRing;
    }

    __device__ __forceinline__ void issue() {
      if (j < count) {
        const int lane = int(threadIdx.x) % 32, gr = lane / 4, r0 = passes.r0(j), c = 4 * s + lane % 4;
        const bool in = c < chunks;  // the last step of a row whose K is not a multiple of 64: zeros past it
        mma::cpAsync16(ringSlot(slot, 0), passes.row(j, r0 + gr) + (in ? c : 0), in);
        mma::cpAsync16(ringSlot(slot, 1), passes.row(j, r0 + gr + 8) + (in ? c : 0), in);
        if (++s == end) {
          s = first;
          j++;
        }
      }
      mma::cpAsyncCommit();
      slot = slot + 1 == kRing ? 0 : slot + 1;
    }
  };

  // The ring's first kRing steps, and (where the launcher set g.prefetchBytes) the first that many bytes of this
  // warp's slice of each of the first pass's 16 rows on their way to L2 (a bulk prefetch a row, lanes 0 to 15):
  // called once, before stream, with its arguments (often before the wait: weights only).
  __device__ __forceinline__ static void prefetchFirst(const Fp8RowsArgs& g, int e, int chunks) {
    startRing(BlockPasses::of(g, e));
    prefetchBytesFirst(g, e, chunks);
  }
  // prefetchFirst for streamPair.
  __device__ __forceinline__ static void prefetchFirstPair(const Fp8RowsArgs& a, const Fp8RowsArgs& b, int e, int chunks) {
    startRing(BlockPasses::pair(a, e, b));
    prefetchBytesFirst(a, e, chunks);
    prefetchBytesFirst(b, 0, chunks);
  }

  __device__ __forceinline__ static void startRing(const BlockPasses& passes) {
    Ring ring(passes, 0);
#pragma unroll
    for (int i = 0; i < kRing; i++) ring.issue();
  }

  __device__ __forceinline__ static void prefetchBytesFirst(const Fp8RowsArgs& g, int e, int chunks) {
    const int r0 = int(blockIdx.x) * kRows;
    if (r0 >= int(g.N) || g.prefetchBytes <= 0) return;
    const int lane = int(threadIdx.x) % 32;
    int first, end;
    slice(g.K, &first, &end);
    const int begin = 64 * first, stop = min(min(64 * end, 16 * chunks), begin + g.prefetchBytes);
    if (lane < kRows && r0 + lane < int(g.N) && stop > begin) {
      prefetchBytesL2(reinterpret_cast<const uint8_t*>(rowChunks(g, e, r0 + lane)) + begin, stop - begin);
    }
  }

  // out rows start .. start + rows - 1 (the block's x rows) from the block's passes of expert e's weights, their steps
  // taken from the ring that prefetchFirst started.
  __device__ __forceinline__ static void stream(const Fp8RowsArgs& g, int e, int start, int rows, const uint8_t* xq,
                                                const float* xScale) {
    Ring ring(BlockPasses::of(g, e), kRing);
    for (int j = 0; j < ring.count; j++) {
      float sum;
      if (streamPass(ring, rows, ring.passes.r0(j), j, xq, &sum)) {
        const int column = int(threadIdx.x) / 16;
        fp8Epilogue<OutT>(g, start + column, e, ring.passes.r0(j) + int(threadIdx.x) % 16, sum, xScale[column]);
      }
    }
    mma::cpAsyncWaitAll();  // the empty groups past the last pass
  }

  // Two products of the same shape and x rows (a's expert e, b's one matrix) summed into a's output rows start ..
  // start + rows - 1 (fp8_shared_expert.cuh's pairEpilogue): a's 16 columns, then b's same 16 (prefetchFirstPair
  // started the ring), and the thread holding a column's sum of a takes b's too.
  __device__ __forceinline__ static void streamPair(const Fp8RowsArgs& a, const Fp8RowsArgs& b, int e, int start, int rows,
                                                    const uint8_t* xqA, const float* xScaleA, const uint8_t* xqB,
                                                    const float* xScaleB) {
    Ring ring(BlockPasses::pair(a, e, b), kRing);
    for (int j = 0; j < ring.count; j += 2) {
      const int r0 = ring.passes.r0(j);
      float sumA, sumB;
      const bool held = streamPass(ring, rows, r0, j, xqA, &sumA);
      streamPass(ring, rows, r0, j + 1, xqB, &sumB);
      if (held) {
        const int column = int(threadIdx.x) / 16;
        pairEpilogue<OutT>(a, b, start + column, e, r0 + int(threadIdx.x) % 16, sumA, xScaleA[column], sumB, xScaleB[column]);
      }
    }
    mma::cpAsyncWaitAll();
  }

  // Pass j: columns r0 .. r0 + 15 against the block's `rows` x rows, each step from the ring's oldest slot, which then
  // takes the step kRing ahead. The finished sum of (x row threadIdx.x / 16, column r0 + threadIdx.x % 16) goes to
  // *sum of the thread that holds one (true). j's parity picks the half of the partial sums' buffer, so one barrier a
  // pass keeps a pass's sums from the next one's.
  __device__ __forceinline__ static bool streamPass(Ring& ring, int rows, int r0, int j, const uint8_t* xq, float* sum) {
    __shared__ float partial[2][kWarps][MT][16];
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, gr = lane / 4, t = lane % 4;
    const int N = ring.passes.N, chunks = ring.chunks;
    // x rows past `rows` feed only sums never stored (mma keeps B's columns apart): they read x row 0.
    const uint4* x = reinterpret_cast<const uint4*>(xq) + (gr < rows ? gr : 0) * chunks;
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll 1
    for (int s = ring.first; s < ring.end; s++) {
      const int slot = ring.slot;  // the oldest step's slot: the next issue refills it
      mma::cpAsyncWait<kRing - 1>();
      const uint4 lo = *ringSlot(slot, 0), hi = *ringSlot(slot, 1);
      const int c = 4 * s + t;
      const uint4 xv = c < chunks ? x[c] : make_uint4(0, 0, 0, 0);
      mmaStep(acc, lo, hi, xv);
      ring.issue();  // after the mma has taken lo and hi: the slot's next bytes land over them
    }
    // c_i holds (row gr + 8 (i / 2), column 2t + i % 2): the columns below MT go to this warp's partial tile.
    float (&mine)[MT][16] = partial[j & 1][warp];
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
    for (int k = 0; k < kWarps; k++) total += partial[j & 1][k][column][r];
    *sum = total;
    return true;
  }
};

}  // namespace fp8stream
}  // namespace iris
