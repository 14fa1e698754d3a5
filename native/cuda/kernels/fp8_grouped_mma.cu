// The routed experts' FP8 products at prefill sizes on the tensor cores (fp8GroupedMma in iris_cuda.h): for rows p
// grouped by expert e (offsets on the device, as fp8Rows takes them), out[rowMap[p] or p, n] = (xq[p] · w_e[n]) *
// xScale[p] * wScale[e, n], through mma.sync.m16n8k32 over E4M3 (sm_89 and later). fp8_moe.cu runs gate|up and down
// here where fp8GroupedMmaApplies says so (launchers, below); fewer rows stay on fp8_gemv.cu's weight streaming.
//
// A block computes 128 output channels x 64 tokens of one expert over all of K:
//   - Channels are the mma's M (A = the expert's weights [N, K], K contiguous: "row"), tokens its N (B = xq [rows, K],
//     K contiguous: "col"): the layouts both tensors already have. Tokens go on N because an expert gets few and
//     uneven counts (top-1 of 16: about T/16 each): N's granularity is 8 where M's is 16, and the warps skip the
//     n-tiles past an expert's last token together; the channels (5,120 to 16,384) fill M's 16 exactly.
//   - 8 warps of 16 channels x all 64 tokens (8 n-tiles each): every warp has work for an expert of a few tokens.
//   - K in stages of 128 bytes (4 k-steps of 32): three stages in shared memory, filled by cp.async two stages ahead
//     of the one multiplied (weights 128 rows, tokens 64 rows, a row padded from 128 to 144 bytes so the 8 rows of an
//     ldmatrix phase fall on 8 different bank groups: 81 KiB, two blocks a multiprocessor). ldmatrix (b16) loads the
//     8-bit fragments as they are (mma_frag.cuh: a b16 pair is 4 k values).
//   - Precision: Hopper's FP8 tensor cores keep about 14 bits while adding up a run of products (DeepSeek-V3's
//     report), so each stage's 4 k-steps (128 products a sum) accumulate from zero, then join fp32 sums in registers.
//   - The epilogue applies both scales (fp8_epilogue.cuh, as the streaming kernel) and writes rows in expert order,
//     or scattered back to token order through rowMap.
// Grid: x enumerates the (expert, token tile) pairs (include/expert_tiles.cuh: maxRowTiles cover every routing; blocks
// past the last pair exit at once), y the channel tiles. x varies fastest, so the blocks resident together read one
// channel tile of every expert, and an expert's second token tile runs right after its first, its weights still in
// L2. No host synchronization: the routing kernel just before wrote the offsets.
//
// Floor and prediction (Scout on the H200; to be measured: bench/fp8-cuda.ts). At 744 tokens a layer's gate|up and
// down read every expert's weights, 16 x 3 x 5120 x 8192 bytes = 2.01 GB: 0.42 ms at 4.8 TB/s, the floor; the math,
// 187 GFLOP, is 0.09 ms at FP8's dense peak (1,979 TFLOP/s with wgmma). mma.sync is not wgmma: every warp loads its
// operands from shared memory into registers and waits for its own result, so expect at most about a third of that
// peak (~600 TFLOP/s: 0.31 ms), and the 128 x 64 tiles move ~3.2 GB a layer from L2 (each token tile again for every
// channel tile, an expert's weights once a token tile). Predicted: 0.6 to 0.8 ms a layer for both products, 30 to 40
// ms of Scout's prefill, where the streaming kernel takes ~20 ms a layer (each expert's weights walked once per 8
// tokens, every byte decoded through half2 and multiplied in fp32 once per token). Levers if it falls short: 256
// channels a block (half the token tiles' L2 traffic, twice the registers), warps of 32 channels x 32 tokens (each B
// fragment loaded by 4 warps instead of 8), and down's grid (40 channel tiles x ~20 token tiles: 3 waves of 264
// resident blocks, the last one short).
#include "expert_tiles.cuh"
#include "fp8_epilogue.cuh"
#include "mma_frag.cuh"

namespace iris {

namespace {

using mma::accCol;
using mma::accRow;

constexpr int kChannels = 128;  // output channels a block (M), 16 a warp
constexpr int kTokens = 64;     // token rows a block (N): 8 n-tiles
constexpr int kStep = 128;      // k bytes a stage: 4 mma k-steps, promoted to fp32 once a stage
constexpr int kStages = 3;
constexpr int kPitch = kStep + 16;  // shared row stride (bytes): 16 bytes of padding
constexpr int kWarpsMma = kChannels / 16, kThreadsMma = 32 * kWarpsMma;
constexpr int kStageBytes = (kChannels + kTokens) * kPitch;
constexpr int kSharedBytes = kStages * kStageBytes;  // 82,944: dynamic, opted in

// ==== kernel ====

template <typename OutT>
__global__ void __launch_bounds__(kThreadsMma, 2) fp8GroupedMmaKernel(Fp8RowsArgs g) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 890  // FP8 tensor cores; the launcher checks the device
  extern __shared__ __align__(16) unsigned char smemRaw[];
  constexpr int kChunks = kStep / 16;  // 16-byte cp.async chunks of a row a stage
  int e = 0, first = 0, end = 0;
  if (!findRowTile(g.offsets, int(g.E), kTokens, int(blockIdx.x), &e, &first, &end)) return;
  const int rows = min(kTokens, end - first);
  const int K = int(g.K), N = int(g.N), n0 = int(blockIdx.y) * kChannels;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const uint8_t* w = static_cast<const uint8_t*>(g.w) + size_t(e) * g.N * g.K;
  const uint8_t* x = static_cast<const uint8_t*>(g.x);
  auto weightTile = [&](int st) { return smemRaw + st * kStageBytes; };
  auto tokenTile = [&](int st) { return smemRaw + st * kStageBytes + kChannels * kPitch; };

  // Stage st <- bytes k0 .. k0 + 127 of the block's weight rows and token rows. Rows past N or past the tile's
  // tokens, and bytes past K, become zeros (cp.async reading nothing), which add nothing to any sum.
  auto load = [&](int st, int k0) {
#pragma unroll
    for (int h = 0; h < kChannels * kChunks / kThreadsMma; h++) {
      const int i = tid + h * kThreadsMma, r = i / kChunks, c = i % kChunks * 16;
      const bool valid = n0 + r < N && k0 + c < K;
      mma::cpAsync16(weightTile(st) + r * kPitch + c, valid ? w + size_t(n0 + r) * K + k0 + c : w, valid);
    }
#pragma unroll
    for (int h = 0; h < kTokens * kChunks / kThreadsMma; h++) {
      const int i = tid + h * kThreadsMma, r = i / kChunks, c = i % kChunks * 16;
      const bool valid = r < rows && k0 + c < K;
      mma::cpAsync16(tokenTile(st) + r * kPitch + c, valid ? x + size_t(first + r) * K + k0 + c : x, valid);
    }
  };

  // The n-tiles that hold tokens: the same in every warp, which skip the others together (mma.sync is warp-wide).
  const int nTiles = (rows + 7) / 8;
  const int steps = (K + kStep - 1) / kStep;
  // Groups: stages 0 and 1, then one a step (empty near the end), so at the top of step s only step s + 1's copies
  // may still be in flight.
  load(0, 0);
  mma::cpAsyncCommit();
  if (steps > 1) load(1, kStep);
  mma::cpAsyncCommit();

  float sum[8][4] = {};
  for (int s = 0; s < steps; s++) {
    mma::cpAsyncWaitOne();  // step s has landed for this thread's copies
    __syncthreads();        // ... and for everyone's; and every warp is done with the stage refilled next (s - 1's)
    if (s + 2 < steps) load((s + 2) % kStages, (s + 2) * kStep);
    mma::cpAsyncCommit();
    // This lane's ldmatrix rows: A as attention's Q tile, B as its K tile (two n-tiles an x4), columns in b16 pairs.
    const unsigned char* wS = weightTile(s % kStages) + (warp * 16 + mma::aRow(lane)) * kPitch + 2 * mma::aCol(lane);
    const unsigned char* xS = tokenTile(s % kStages) + mma::kRow(lane) * kPitch + 2 * mma::kCol(lane);
    float part[8][4] = {};
#pragma unroll
    for (int ks = 0; ks < kStep / 32; ks++) {
      uint32_t a[4];
      mma::ldmatrixX4(a, wS + ks * 32);
#pragma unroll
      for (int np = 0; np < 4; np++) {
        if (2 * np >= nTiles) break;
        uint32_t b[4];
        mma::ldmatrixX4(b, xS + np * 16 * kPitch + ks * 32);
        mma::mmaE4m3(part[2 * np], a, b[0], b[1]);
        if (2 * np + 1 < nTiles) mma::mmaE4m3(part[2 * np + 1], a, b[2], b[3]);
      }
    }
    // 128 products a sum so far: promoted to the fp32 sums before the tensor cores' shorter accumulator loses bits.
#pragma unroll
    for (int nt = 0; nt < 8; nt++) {
#pragma unroll
      for (int i = 0; i < 4; i++) sum[nt][i] += part[nt][i];
    }
  }
  mma::cpAsyncWaitAll();  // nothing may be in flight into shared memory when the block exits

  // Accumulator i of n-tile nt: channel n0 + 16 warp + accRow, token nt * 8 + accCol of the tile.
#pragma unroll
  for (int nt = 0; nt < 8; nt++) {
    if (nt >= nTiles) break;
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const int n = n0 + warp * 16 + accRow(lane, i), j = nt * 8 + accCol(lane, i);
      if (n < N && j < rows) fp8Epilogue<OutT>(g, first + j, e, n, sum[nt][i], g.xScale[first + j]);
    }
  }
#endif
}

// The grid (the cpu emulation's too): x the (expert, token tile) pairs, y the channel tiles.
dim3 groupedMmaGrid(const Fp8RowsArgs& g) {
  return dim3(unsigned(maxRowTiles(g.T, g.E, kTokens)), unsigned((g.N + kChannels - 1) / kChannels));
}

// Why this kernel cannot take `g` ("" when it can), the device aside.
std::string groupedMmaRefusal(const Fp8RowsArgs& g) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(g.x) | reinterpret_cast<uintptr_t>(g.w);
  if (g.offsets == nullptr || g.xDtype >= 0) return "fp8 grouped product: rows grouped by expert, x quantized";
  if (g.K % 16 != 0 || bits % 16 != 0) return "fp8 grouped product: K a multiple of 16, x and w 16-byte aligned";
  if (g.K > size_t(INT32_MAX) || g.N > size_t(INT32_MAX) || g.T > size_t(INT32_MAX) ||
      (g.N + kChannels - 1) / kChannels > 65535 || maxRowTiles(g.T, g.E, kTokens) > size_t(INT32_MAX)) {
    return "fp8 grouped product: sizes too large";
  }
  if (g.outDtype != kBF16 && g.outDtype != kF16 && g.outDtype != kF32) return "fp8 grouped product: a float output";
  return "";
}

}  // namespace

// tests/cuda/fp8-grouped-mma-emulation.cc compiles everything above this line as plain C++ and runs the kernel on
// the cpu with its PTX emulated; what follows chooses and launches on the GPU.
#ifndef IRIS_FP8_MMA_EMULATION

namespace {

// Which kernel serves the experts (fp8GroupedMmaApplies): up to 8 rows in the call, every expert has at most 8, which
// the streaming kernel takes in one pass, reading each weight once as this kernel would, with no tile padding, and
// with decode's own tricks (quantizing inside the product, prefetching before the wait). Past 8 an expert may have
// more: the streaming kernel walks its weights once per 8 rows (ceil(rows / 8) passes), decoding every weight byte
// through half2 and spending 8 fp32 FMAs plus x's decoding on it per row (about 24 + 40r instructions per 16 weight
// bytes for r rows a pass: instruction-bound past ~2 rows on the H200), where this kernel reads an expert's weights
// once per 64 rows and multiplies on the tensor cores. 8 is also where linearFp8 moves to cuBLASLt. -1: this rule;
// 0 or 1 forced by setFp8GroupedMma (bench/fp8-cuda.ts measures both).
constexpr size_t kMinRows = 9;
int groupedMma = -1;

bool deviceHasFp8TensorCores() {
  static int capability = -1;
  if (capability < 0) {
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, currentDevice()) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, currentDevice()) != cudaSuccess) {
      cudaGetLastError();  // not left for the next launch's status
      return false;
    }
    capability = major * 10 + minor;
  }
  return capability >= 89;
}

template <typename OutT>
std::string launch(const Fp8RowsArgs& g) {
  // Past the 48 KiB of a plain launch, asked for once per kernel; all shared, little L1: the tiles bypass L1
  // (cp.async.cg) and two blocks a multiprocessor need 166 KiB.
  static const cudaError_t optIn = [] {
    const auto kernel = fp8GroupedMmaKernel<OutT>;
    const cudaError_t limit = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSharedBytes);
    if (limit != cudaSuccess) return limit;
    return cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, int(cudaSharedmemCarveoutMaxShared));
  }();
  if (optIn != cudaSuccess) return cudaStatus(optIn, "cudaFuncSetAttribute (fp8 grouped product)");
  fp8GroupedMmaKernel<OutT><<<groupedMmaGrid(g), kThreadsMma, kSharedBytes, stream()>>>(g);
  return launchStatus("fp8 product (tensor-core grouped)");
}

}  // namespace

// ==== launchers ====

void setFp8GroupedMma(int mode) { groupedMma = mode == 0 || mode == 1 ? mode : -1; }

bool fp8GroupedMmaApplies(const Fp8RowsArgs& g) {
  if (groupedMma == 0 || (groupedMma < 0 && g.T < kMinRows)) return false;
  return groupedMmaRefusal(g).empty() && deviceHasFp8TensorCores();
}

std::string fp8GroupedMma(const Fp8RowsArgs& g) {
  if (g.T == 0 || g.N == 0) return "";
  const std::string refusal = groupedMmaRefusal(g);
  if (!refusal.empty()) return refusal;
  if (!deviceHasFp8TensorCores()) return "fp8 grouped product: FP8 tensor cores need sm_89 or later";
  switch (g.outDtype) {
    case kBF16: return launch<__nv_bfloat16>(g);
    case kF16: return launch<__half>(g);
    default: return launch<float>(g);
  }
}

#endif  // IRIS_FP8_MMA_EMULATION

}  // namespace iris
