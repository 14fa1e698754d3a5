// Llama 4's shared expert folded into the routed experts' two decode products (fp8_moe.cu, Backend
// moeTop1SigmoidFp8Shared): route, gate|up, down, three kernels for what took seven (the routed expert's route, gate|up
// and down, then the shared expert's gate|up, siluAndMul, down and the add of the two outputs).
//
// Why. Scout at batch 1 on the H200 (bench/decode-layers-scout.ts): the routed expert 50.09 µs, the shared expert's
// gate|up 24.18 and down 16.11 plus a siluAndMul and an add, each product carrying ~6 µs of fixed cost (ramp, x
// quantized in every block, the epilogue, the tail of the last wave). The shared expert reads the token's hidden state
// as the routed one does, so its products can ride the same launches:
//   - gate|up: the shared expert is one more group of blocks beside the routed experts' (grid y = the routed groups,
//     then one for the shared expert: the resident wave split among them); its blocks quantize x unscaled (FloatRows)
//     where the routed ones gather x * score (GatheredRows). Each pass streams 16 gate rows, then the same 16 up rows
//     (Stream::streamPair over the matrix's halves), and stores silu(gate) * up (fp8_epilogue.cuh's gatedEpilogue):
//     act_shared [T, I] in token order beside the routed act [T, I] in expert order;
//   - down: a block of routed expert e takes its rows' activations of both experts (act's rows and act_shared's rows
//     perm[p], PermutedRows) into shared memory, streams row n of e's down and row n of the shared down one after the
//     other (Stream::streamPair) and stores their sum (fp8_epilogue.cuh's pairEpilogue) in token order.
// Every sum is the one the separate kernels compute (the same streaming, the same K order, each product rounded to
// the output type before the add or the activation), so the output has the bits of the seven kernels'.
//
// Why the activation is the gate|up's epilogue (session 14). The products' timeline on the H200 (bench/fp8-timeline-
// scout.ts, Scout at batch 1) showed the down's blocks spending 14.7 to 19.4 µs between their wait and the start of
// their streaming, against 2.4 for q|k|v's: each of its 320 blocks computed silu(gate) * up of both experts' 8,192
// values (an expf and two divisions a value, ~16 K warp instructions a block, four blocks a multiprocessor) before
// quantizing them. Computed once an output in gate|up's epilogue, the down's blocks only quantize.
#pragma once

#include "fp8_quantizing.cuh"

namespace iris {
namespace fp8stream {

// Expert row p's input, chunk by chunk (fp8_quantizing.cuh's Prologue), as fp8_moe.cu's gather kernel makes it before
// quantizing: token perm[p]'s row times its routing score, rounded to the storage type.
template <typename T>
struct GatheredRows {
  using Storage = T;
  using IO = ChunkIO<T>;
  const T* x;
  const int32_t* perm;
  const float* score;
  size_t H;
  bool aligned;
  __device__ __forceinline__ uint4 chunk(int p, int c) const {
    const int t = perm[p];
    const float s = score[t];
    float v[IO::kValues];
    IO::unpack(IO::load(x + size_t(t) * H, c, aligned), v);
#pragma unroll
    for (int j = 0; j < IO::kValues; j++) v[j] *= s;
    return IO::pack(v);
  }
};

// Row p's activation, chunk by chunk, as siluAndMul writes it: silu(gate) * up from h [rows, 2I], rounded; with
// `perm`, row perm[p] of h (the shared expert's rows are in token order, a routed expert's in expert order). h is
// fp8_moe.cu's scratch (256-byte aligned) and I a multiple of 16: always whole 16-byte loads.
template <typename T>
struct ActivatedRows {
  using Storage = T;
  using IO = ChunkIO<T>;
  const T* h;
  size_t I;
  const int32_t* perm = nullptr;
  __device__ __forceinline__ uint4 chunk(int p, int c) const {
    const T* row = h + size_t(perm != nullptr ? perm[p] : p) * 2 * I;
    float gate[IO::kValues], up[IO::kValues];
    IO::unpack(IO::load(row, c, true), gate);
    IO::unpack(IO::load(row + I, c, true), up);
#pragma unroll
    for (int j = 0; j < IO::kValues; j++) gate[j] = siluTimes(gate[j], up[j]);
    return IO::pack(gate);
  }
};

// Row p of a float matrix [*, K] (row perm[p] with `perm`), chunk by chunk: the folded down's input, the activations
// the folded gate|up wrote (the routed expert's rows in expert order, the shared expert's in token order). Scratch
// (fp8_moe.cu: 256-byte aligned) and K a multiple of 16: always whole 16-byte loads.
template <typename T>
struct PermutedRows {
  using Storage = T;
  const T* x;
  size_t K;
  const int32_t* perm = nullptr;
  __device__ __forceinline__ uint4 chunk(int p, int c) const {
    return ChunkIO<T>::load(x + size_t(perm != nullptr ? perm[p] : p) * K, c, true);
  }
};

// Rows first .. first + rows - 1 of `value` quantized into xq (K bytes a row) and their scales (the block together).
template <typename Prologue>
__device__ __forceinline__ void quantizeRows(const Prologue& value, int first, int rows, int K, uint8_t* xq, float* xScale,
                                             float* shared32) {
  for (int t = 0; t < rows; t++) {
    const float scale = quantizeRow(value, first + t, K, xq + size_t(t) * K, shared32);
    if (threadIdx.x == 0) xScale[t] = scale;
  }
  __syncthreads();
}

// silu(gate) * up of expert e's rows start .. start + rows - 1 (x quantized in xq, scales xScale) into g.out, g being
// a gate|up seen as halves (gatedHalves): half 2e's rows against the same rows of half 2e + 1, a pass each.
template <typename Stream>
__device__ __forceinline__ void streamGated(const Fp8RowsArgs& g, int e, int start, int rows, const uint8_t* xq,
                                            const float* xScale) {
  Stream::streamPair(g, 2 * e, g, 2 * e + 1, start, rows, xq, xScale, xq, xScale,
                     [&](int p, int n, float sumG, float xScaleG, float sumU, float xScaleU) {
                       gatedEpilogue<typename Stream::Out>(g, p, 2 * e, 2 * e + 1, n, sumG, xScaleG, sumU, xScaleU);
                     });
}

// kPaired false (gate|up): blocks of grid row y < gridDim.y - 1 serve the y-th routed expert with rows, the last grid
// row the shared expert (all T rows, `shared`'s one matrix). kPaired true (down): every block serves a routed expert,
// its rows' two activations summed through both matrices. `routed` and `shared` share T, K and N.
template <typename Stream, typename Routed, typename Shared, bool kPaired>
__global__ void __launch_bounds__(kWarps * 32, Stream::kMinBlocks)
    sharedExpertKernel(Fp8RowsArgs routed, Fp8RowsArgs shared, Routed routedValue, Shared sharedValue) {
  // The block's routed x rows, then (paired) as many shared ones, after the streaming's own shared memory.
  uint8_t* xq = quantizedX + Stream::sharedBefore(routed.K);
  __shared__ float shared32[32];
  __shared__ float xScale[2 * Stream::kMaxRows];
  const int lane = int(threadIdx.x) % 32, K = int(routed.K), chunks = K / 16;
  int e = 0, start = 0, rows = 0;
  markIf<Stream>(routed, fp8timeline::kEntry);
  if constexpr (kPaired) {
    // The routing tables are two kernels back (route, gate|up, this): the expert is found, and both matrices' first
    // weights sent to L2, while gate|up still runs.
    if (!blockExpertByWarp(routed, lane, &e, &start, &rows)) return;
    Stream::prefetchFirst(routed, e, chunks);
    Stream::prefetchFirst(shared, 0, chunks);
    waitForPrevious();
    releaseNext();
    markIf<Stream>(routed, fp8timeline::kWaited);
    quantizeRows(routedValue, start, rows, K, xq, xScale, shared32);
    markIf<Stream>(routed, fp8timeline::kFirstPart);
    quantizeRows(sharedValue, start, rows, K, xq + size_t(rows) * K, xScale + Stream::kMaxRows, shared32);
    markIf<Stream>(routed, fp8timeline::kQuantized);
    Stream::streamPair(routed, e, shared, 0, start, rows, xq, xScale, xq + size_t(rows) * K, xScale + Stream::kMaxRows,
                       [&](int p, int n, float sumA, float xScaleA, float sumB, float xScaleB) {
                         pairEpilogue<typename Stream::Out>(routed, shared, p, e, n, sumA, xScaleA, sumB, xScaleB);
                       });
  } else {
    // Both matrices seen as halves (the launcher's gatedHalves): expert e's gate rows are half 2e, its up rows 2e + 1.
    const bool sharedBlock = blockIdx.y == gridDim.y - 1;
    // The shared expert's weights are never written by a kernel of the step: on their way before the wait.
    if (sharedBlock) {
      Stream::prefetchFirst(shared, 0, chunks);
      Stream::prefetchFirst(shared, 1, chunks);
    }
    waitForPrevious();  // the routing kernel just before wrote the tables
    releaseNext();
    markIf<Stream>(routed, fp8timeline::kWaited);
    // (Two calls, not one through a reference chosen at run time: that copies both parameter blocks to the stack.)
    if (sharedBlock) {
      quantizeRows(sharedValue, 0, int(shared.T), K, xq, xScale, shared32);
      markIf<Stream>(routed, fp8timeline::kFirstPart);
      markIf<Stream>(routed, fp8timeline::kQuantized);
      streamGated<Stream>(shared, 0, 0, int(shared.T), xq, xScale);
    } else {
      if (!blockExpertByWarp(routed, lane, &e, &start, &rows)) return;
      Stream::prefetchFirst(routed, 2 * e, chunks);
      Stream::prefetchFirst(routed, 2 * e + 1, chunks);
      markIf<Stream>(routed, fp8timeline::kFirstPart);
      quantizeRows(routedValue, start, rows, K, xq, xScale, shared32);
      markIf<Stream>(routed, fp8timeline::kQuantized);
      streamGated<Stream>(routed, e, start, rows, xq, xScale);
    }
  }
  markIf<Stream>(routed, fp8timeline::kStreamed);
}

// Why the folded products cannot serve these sizes ("" when they can): as quantizingRowsRefusal, with the down's two
// activations of a token (2 T I bytes) within the shared memory of x.
inline std::string sharedExpertRefusal(const Fp8RowsArgs& gateUp, const Fp8RowsArgs& down) {
  for (const Fp8RowsArgs* g : {&gateUp, &down}) {
    const std::string refusal = quantizingRowsRefusal(*g);
    if (!refusal.empty()) return refusal;
  }
  if (2 * down.T * down.K > kQuantizingMaxBytes) return "moe fp8 with the shared expert: 2 T I bytes past the shared memory of x";
  return "";
}

// Whether the folded downs launch as programmatic dependents of the gate|ups (their blocks resident while the gate|ups'
// last blocks run) or as ordinary launches (fp8_gemv.cu: IRIS_FP8_PAIRED_DOWN_DEPENDENT, for measuring).
bool pairedDownDependent();

// A gate|up matrix [E, 2I, K] seen as 2E halves of I rows (gate rows of expert e: half 2e, its up rows: half 2e + 1),
// the output [T, I]: the folded gate|up's view (E stays the routing's count of experts).
inline Fp8RowsArgs gatedHalves(const Fp8RowsArgs& g, void* out) {
  Fp8RowsArgs halves = g;
  halves.N = g.N / 2;
  halves.out = out;
  return halves;
}

template <typename Stream, bool kPaired, typename Routed, typename Shared>
std::string launchSharedExpert(const Fp8RowsArgs& routed, const Fp8RowsArgs& shared, Routed routedValue, Shared sharedValue) {
  constexpr auto kernel = sharedExpertKernel<Stream, Routed, Shared, kPaired>;
  const size_t routedGroups = routed.T < routed.E ? routed.T : routed.E;  // at most this many experts have rows
  const size_t groups = kPaired ? routedGroups : routedGroups + 1;
  const size_t sharedBytes = Stream::sharedBefore(routed.K) + (kPaired ? 2 : 1) * routed.T * routed.K;
  std::string status;
  const dim3 grid(streamGridX<Stream, kernel>(routed.N, groups, sharedBytes, &status), unsigned(groups));
  if (!status.empty()) return status;
  // Each block streams two matrices (or halves) a pass: twice the first passes' bytes against the budget.
  const int prefetch = prefetchBytesFor<Stream>(routed.K, routed.N, grid.x, 2 * groups);
  Fp8RowsArgs routedArgs = routed, sharedArgs = shared;
  routedArgs.prefetchBytes = sharedArgs.prefetchBytes = prefetch;
  routedArgs.timeline = timelineSlice<Stream>(kPaired ? "moe down paired" : "moe gate|up folded", routed.N, routed.K, grid);
  const bool dependent = !kPaired || pairedDownDependent();
  return launchAs(kPaired ? "moe fp8 down with the shared expert's" : "moe fp8 gate|up with the shared expert's", dependent,
                  1u, kernel, grid, dim3(kWarps * 32), sharedBytes, routedArgs, sharedArgs, routedValue, sharedValue);
}

template <int MT, typename OutT, bool kPaired, typename Routed, typename Shared>
std::string launchSharedExpertRows(const Fp8RowsArgs& routed, const Fp8RowsArgs& shared, Routed routedValue,
                                   Shared sharedValue) {
  // Never by bulk copies: BulkRows streams one matrix a block, and both folded products stream two.
  return withStreaming<MT, OutT, false>(routed.N, routed.K, routed.T, [&](auto stream) {
    return launchSharedExpert<typename decltype(stream)::type, kPaired>(routed, shared, routedValue, sharedValue);
  });
}

// One of the two folded products (kPaired: the downs, else the gate|ups), its variant by the rows an expert may have,
// as quantizingRows picks it. The caller checked sharedExpertRefusal.
template <typename OutT, bool kPaired, typename Routed, typename Shared>
std::string sharedExpertRows(const Fp8RowsArgs& routed, const Fp8RowsArgs& shared, Routed routedValue, Shared sharedValue) {
  static_assert(std::is_same_v<OutT, __nv_bfloat16> || std::is_same_v<OutT, float>, "bf16 or F32");
  if (routed.T <= 1) return launchSharedExpertRows<1, OutT, kPaired>(routed, shared, routedValue, sharedValue);
  if (routed.T <= 2) return launchSharedExpertRows<2, OutT, kPaired>(routed, shared, routedValue, sharedValue);
  return launchSharedExpertRows<4, OutT, kPaired>(routed, shared, routedValue, sharedValue);
}

}  // namespace fp8stream
}  // namespace iris
