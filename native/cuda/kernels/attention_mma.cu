// Tensor-core attention (flash-attention style) for bf16 prefill and the vision tower: the varlen entry (packed
// segments, causal or not) and the paged entry (queries against the KV cache through the page table, causal with
// the query offset kvLen - qLen, grouped KV heads, Llama 4's chunked mask). attention.cu's launcher hands a call
// here when attentionMmaApplies() says so; decode (a batch of single queries) stays on attention.cu's kernel.
//
// A block of 4 warps owns 64 (query, q-head) rows that share one KV head: with G q heads a KV head, row r is query
// i0 + r / G of head h0 + r % G, so the q heads of a group sit in the M dimension of one tile and each K/V tile is
// read from memory once for all of them (GQA). Each warp owns 16 rows. Per tile of 64 keys (attention_tile.cuh,
// shared with attention_window.cu):
//   S = Q K^T  with mma.m16n8k16 (Q fragments held in registers for the whole block, K via ldmatrix),
//   online softmax on the fp32 accumulators in registers (log2 domain: exp2f, scale * log2 e applied in fp32),
//   O += P V   with P re-packed from the score accumulators to bf16 A fragments (no shuffle) and V via ldmatrix.trans.
// K/V tiles sit in three shared-memory stages filled by cp.async (16 bytes a thread, gathered per key from the
// pages), two tiles ahead of the one being multiplied. Head dims that are not a multiple of 16 (88)
// are zero-padded to the next one in shared memory: the padded dims add nothing to scores and are never written.
#include <cfloat>
#include <climits>
#include <cstdlib>

#include "attention_tile.cuh"
#include "float_io.cuh"

namespace iris {

namespace {

using mma::accCol;
using mma::accRow;

constexpr int kWarpsMma = attn::kWarps;
constexpr int kRowsMma = attn::kRows;  // rows of a block
constexpr int kKeysMma = attn::kKeys;  // keys of a tile
constexpr int kMinQueries = 16;           // below this (decode) the scalar kernel's splits win
// K/V stages: a tile is fetched two tiles ahead, so its page-table read and the dependent copy (two memory
// latencies) hide behind two tiles of math (two stages left the 351-token prefill waiting on them: 21.6 us).
constexpr int kStages = 3;

struct MmaPlan {
  int gChunk;      // q heads of a group per block
  int headChunks;  // blocks per group
  int qChunk;      // queries per block
  int qChunks;
};

template <int D>
struct MmaShape : attn::TileShape<D> {
  static constexpr size_t kSharedBytes = size_t(2 * kStages) * attn::TileShape<D>::kTileElems * sizeof(__nv_bfloat16);  // K, V a stage
};

// ==== kernel ====

template <int D>
__global__ void __launch_bounds__(kWarpsMma * 32, 2) attentionMmaKernel(AttentionArgs a, MmaPlan g) {
  using Shape = MmaShape<D>;
  constexpr int LD = Shape::kLd, NT = Shape::kNT, KS = Shape::kKS, NK = Shape::kNK;
  extern __shared__ __align__(16) unsigned char smemRaw[];
  __nv_bfloat16* smem = reinterpret_cast<__nv_bfloat16*>(smemRaw);
  // Stage st: K at smem + 2 st tile, V right after it. Q is staged once in the last stage's K buffer, read into
  // registers before the first prefetch into that stage overwrites it.
  auto kTile = [&](int st) { return smem + 2 * st * Shape::kTileElems; };
  auto vTile = [&](int st) { return smem + (2 * st + 1) * Shape::kTileElems; };

  const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(a.q);
  const __nv_bfloat16* k = static_cast<const __nv_bfloat16*>(a.k);
  const __nv_bfloat16* v = static_cast<const __nv_bfloat16*>(a.v);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;

  const int s = blockIdx.z;
  const int kv = blockIdx.y / g.headChunks, hc = blockIdx.y % g.headChunks;
  const int qc = g.qChunks - 1 - int(blockIdx.x);  // the longest causal rows first: they set the tail
  const int qBegin = a.queryStart[s], qLen = a.queryStart[s + 1] - qBegin;
  const int i0 = qc * g.qChunk;
  if (i0 >= qLen) return;
  const int kvLen = a.paged ? a.kvLens[s] : qLen;
  const int offset = kvLen - qLen;  // query i sits at position offset + i
  const int group = a.Hq / a.Hk;
  const int h0 = kv * group + hc * g.gChunk;
  const int gCount = min(g.gChunk, group - hc * g.gChunk);
  const int qCount = min(g.qChunk, qLen - i0);
  const int rows = qCount * gCount;
  const bool causal = a.paged || a.causal;
  // Row strides: packed tensors, or q, k, v read in place from the fused q|k|v product (attention_qkv.cu).
  const size_t qRow = a.qRow > 0 ? a.qRow : size_t(a.Hq) * D, kRow = a.kRow > 0 ? a.kRow : size_t(a.Hk) * D;
  const size_t vRow = a.vRow > 0 ? a.vRow : size_t(a.Hk) * D;
  const int chunk = a.chunkSize;
  auto lowKey = [&](int i) { const int p = offset + i; return chunk > 0 ? p - p % chunk : 0; };
  auto highKey = [&](int i) { return causal ? offset + i + 1 : kvLen; };
  auto queryOf = [&](int r) { return i0 + min(r, rows - 1) / gCount; };  // rows past `rows` borrow a real query
  const int kLo = lowKey(i0), kHi = highKey(i0 + qCount - 1);
  const int loMax = lowKey(i0 + qCount - 1), hiMin = highKey(i0);  // tiles inside [loMax, hiMin) need no mask
  const int tiles = kHi > kLo ? (kHi - kLo + kKeysMma - 1) / kKeysMma : 0;

  // Zero the padded dims of every K/V buffer once (cp.async never writes them); Q's padding is stage 1's K padding.
  attn::zeroPaddedDims<D>(smem, 2 * kStages, tid, blockDim.x);

  // Q rows of the block -> stage 1's K buffer (rows past `rows` are zeros).
  {
    __nv_bfloat16* qs = kTile(kStages - 1);
    for (int idx = tid; idx < kRowsMma * Shape::kChunks; idx += blockDim.x) {
      const int r = idx / Shape::kChunks, c = idx % Shape::kChunks;
      const bool valid = r < rows;
      const size_t src = valid ? size_t(qBegin + i0 + r / gCount) * qRow + size_t(h0 + r % gCount) * D + c * 8 : 0;
      mma::cpAsync16(qs + r * LD + c * 8, q + src, valid);
    }
  }

  // Keys kt .. kt+63 of KV head kv -> stage st. Key p is packed row qBegin + p (varlen) or its cache slot through
  // the page table; keys at or past kHi and slots off the cache are zeros (as in attention.cu).
  auto loadTile = [&](int st, int kt) {
    __nv_bfloat16* kd = kTile(st);
    __nv_bfloat16* vd = vTile(st);
    for (int idx = tid; idx < kKeysMma * Shape::kChunks; idx += blockDim.x) {
      const int j = idx / Shape::kChunks, c = idx % Shape::kChunks, p = kt + j;
      bool valid = p < kHi;
      long long row = 0;
      if (valid) {
        if (a.paged) {
          const int page = a.pageTable[size_t(s) * a.maxPages + p / a.pageSize];
          row = (long long)page * a.pageSize + p % a.pageSize;
          valid = page >= 0 && row < a.numSlots;
        } else {
          row = qBegin + p;
        }
      }
      const size_t head = size_t(kv) * D + c * 8;
      mma::cpAsync16(kd + j * LD + c * 8, k + (valid ? size_t(row) * kRow + head : 0), valid);
      mma::cpAsync16(vd + j * LD + c * 8, v + (valid ? size_t(row) * vRow + head : 0), valid);
    }
  };

  // Groups: Q with tile 0, then tile 1; then one a tile (empty past the last), so at the top of tile t exactly one
  // group, tile t+1's, may still be in flight.
  if (tiles > 0) loadTile(0, kLo);
  mma::cpAsyncCommit();
  if (tiles > 1) loadTile(1, kLo + kKeysMma);
  mma::cpAsyncCommit();
  mma::cpAsyncWaitOne();
  __syncthreads();

  // Q fragments for the whole block: KS k-steps of the A operand.
  uint32_t qf[KS][4];
  attn::loadQFragments<D>(qf, kTile(kStages - 1), warp, lane);

  // This thread's two rows (accumulator rows lane/4 and lane/4 + 8 of the warp's 16) and their key ranges.
  int lo[2], hi[2];
#pragma unroll
  for (int rr = 0; rr < 2; rr++) {
    const int i = queryOf(warp * 16 + accRow(lane, 2 * rr));
    lo[rr] = lowKey(i);
    hi[rr] = highKey(i);
  }
  // The warp's key range (rows are in query order): tiles outside it, and every tile for a warp with no real row
  // (a short last chunk, decode rows in a prefill batch), are skipped by the whole warp at once, as the .sync.aligned
  // instructions below require.
  const int warpLo = lowKey(queryOf(warp * 16));
  const int warpHi = warp * 16 < rows ? highKey(queryOf(warp * 16 + 15)) : INT_MIN;
  const float qScale = a.scale * 1.4426950408889634f;
  float o[NT][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
#pragma unroll
  for (int n = 0; n < NT; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;

  for (int t = 0; t < tiles; t++) {
    const int kt = kLo + t * kKeysMma;
    mma::cpAsyncWaitOne();  // tile t has landed for this thread's copies (tile t+1 may still be in flight)
    __syncthreads();        // ... and for everyone's; and every warp is done with the stage refilled next (t-1's)
    if (t + 2 < tiles) loadTile((t + 2) % kStages, kt + 2 * kKeysMma);
    mma::cpAsyncCommit();
    if (kt >= warpHi || kt + kKeysMma <= warpLo) continue;
    const __nv_bfloat16* kS = kTile(t % kStages);
    const __nv_bfloat16* vS = vTile(t % kStages);

    float sc[NK][4];
    attn::tileScores<D>(sc, qf, kS, lane);

    // Mask only tiles that cross a row's key range (the causal diagonal, the chunk start, the end of the keys).
    if (kt < loMax || kt + kKeysMma > hiMin) {
#pragma unroll
      for (int n = 0; n < NK; n++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
          const int p = kt + n * 8 + accCol(lane, e), rr = e / 2;
          if (p < lo[rr] || p >= hi[rr]) sc[n][e] = -INFINITY;
        }
      }
    }

    attn::tileSoftmax<D>(sc, m, l, o, qScale);
    attn::tileValues<D>(o, sc, vS, lane);
  }
  mma::cpAsyncWaitAll();  // nothing may be in flight into shared memory when the block exits

  // Normalize and store the block's rows below `rows`.
  attn::storeRows<D>(o, l, warp, lane, rows, [&](int r) {
    const size_t outRow = size_t(qBegin + i0 + r / gCount) * a.Hq + h0 + r % gCount;
    return static_cast<__nv_bfloat16*>(a.out) + outRow * D;
  });
}

// ==== launcher ====

MmaPlan planMma(const AttentionArgs& a) {
  MmaPlan g{};
  const int group = a.Hq / a.Hk;
  g.gChunk = group < kRowsMma ? group : kRowsMma;
  g.headChunks = (group + g.gChunk - 1) / g.gChunk;
  g.qChunk = kRowsMma / g.gChunk;
  g.qChunks = (a.maxQueryLen + g.qChunk - 1) / g.qChunk;
  return g;
}

// tests/cuda/attention-mma-emulation.cc compiles everything above this line as plain C++ and runs the kernel on
// the cpu, one thread per lane, with the PTX of mma_frag.cuh emulated; what follows launches on the GPU.
#ifndef IRIS_MMA_EMULATION

template <int D>
std::string launchMma(const AttentionArgs& a) {
  using Shape = MmaShape<D>;
  static bool sharedRaised = false;
  if (!sharedRaised) {
    // All shared, little L1: K/V bypass L1 (cp.async.cg) and 2-3 blocks a multiprocessor need 90-140 KB of tiles.
    const std::string status = allowSharedBytes(reinterpret_cast<const void*>(attentionMmaKernel<D>), Shape::kSharedBytes, "attention (mma)");
    if (!status.empty()) return status;
    sharedRaised = true;
  }
  const MmaPlan g = planMma(a);
  const dim3 grid(unsigned(g.qChunks), unsigned(a.Hk * g.headChunks), unsigned(a.S));
  attentionMmaKernel<D><<<grid, kWarpsMma * 32, Shape::kSharedBytes, stream()>>>(a, g);
  return launchStatus("attention (mma)");
}

bool envEnabled() {
  const char* v = std::getenv("IRIS_ATTENTION_MMA");
  return v == nullptr || v[0] != '0';
}

bool mmaEnabled = envEnabled();

#endif  // IRIS_MMA_EMULATION

}  // namespace

#ifndef IRIS_MMA_EMULATION

void setAttentionMmaEnabled(bool enabled) { mmaEnabled = enabled; }

// Decode (one query a sequence, paged) on this kernel rather than attention_decode.cu's: a group's q heads fill G of a
// block's 64 rows, but its scores and outputs come from tensor cores rather than each lane's serial G x D chain.
// Measured on the H200 for Qwen2.5-VL-3B (16 q heads, 2 KV heads, ~400 keys; bench/decode-layers-cuda.ts, µs a
// layer): batch 1, 6.85 on the decode kernel against 20.39 here (one block a (sequence, KV head) walks all keys,
// where the decode kernel splits them); batch 64, 27.45 against 20.77 (the machine is full either way, and the
// tensor cores end the serial chain). So here once the (sequence, KV head) pairs fill half the multiprocessors and
// the group is large enough for that chain to matter. -1: that rule; 0 or 1: forced (setDecodeAttentionMma).
int decodeOnMma = -1;

void setDecodeAttentionMma(int mode) { decodeOnMma = mode < 0 ? -1 : mode > 0 ? 1 : 0; }

bool decodeAttentionOnMma(const AttentionArgs& a) {
  if (decodeOnMma >= 0) return decodeOnMma == 1;
  const long long pairs = (long long)a.S * a.Hk;
  return a.Hk > 0 && a.Hq / a.Hk >= 4 && 2 * pairs >= multiprocessorCount();
}

bool attentionMmaApplies(const AttentionArgs& a) {
  // The stages of a head dim must fit a block's shared memory on this device (sm_89 allows 99 KB: not D = 128).
  const size_t shared = size_t(2 * kStages) * kKeysMma * attn::tileRowElems(a.D) * sizeof(__nv_bfloat16);
  const uintptr_t bits = reinterpret_cast<uintptr_t>(a.q) | reinterpret_cast<uintptr_t>(a.k) |
                         reinterpret_cast<uintptr_t>(a.v) | reinterpret_cast<uintptr_t>(a.out);
  const bool rowsAligned = (a.qRow | a.kRow | a.vRow) % 8 == 0;  // every row start on 16 bytes, as the pointers
  const bool dimOk = a.D == 16 || a.D == 32 || a.D == 64 || a.D == 80 || a.D == 88 || a.D == 96 || a.D == 128;
  const bool enoughQueries = a.maxQueryLen >= kMinQueries || (a.paged && a.maxQueryLen == 1 && decodeAttentionOnMma(a));
  return mmaEnabled && a.dtype == kBF16 && dimOk && enoughQueries && a.forceSplits == 0 &&
         a.scale > 0.f && bits % 16 == 0 && rowsAligned && shared <= sharedBytesPerBlockLimit();
}

std::string attentionMma(const AttentionArgs& a) {
  switch (a.D) {
    case 16: return launchMma<16>(a);
    case 32: return launchMma<32>(a);
    case 64: return launchMma<64>(a);
    case 80: return launchMma<80>(a);
    case 88: return launchMma<88>(a);
    case 96: return launchMma<96>(a);
    case 128: return launchMma<128>(a);
    default: return "attention (mma): head dim " + std::to_string(a.D) + " has no tensor-core kernel";
  }
}

#endif  // IRIS_MMA_EMULATION

}  // namespace iris
