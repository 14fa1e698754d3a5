// Runs the tensor-core attention kernel itself (native/cuda/kernels/attention_mma.cu, compiled here as plain C++)
// on the cpu: one fiber (ucontext) per thread of a block, switched only at barriers, __syncthreads as a block
// barrier, and ldmatrix, mma and shuffles as warp rendezvous emulated from the PTX ISA's tables (ptx-emulation.h);
// cp.async copies at once. Checks row mapping,
// masks, tile ranges, page gathers and the online softmax against a float64 reference on small shapes of every
// kind the kernel serves, and varlen q, k, v read in place from one fused q|k|v product (row strides, the vision
// towers' attention_qkv.cu). It cannot see races or timing (the copies are synchronous): that is the GPU tests' job.
//
//   c++ -std=c++17 -O1 -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/attention-mma-emulation.cc
// (tests/cuda/attention-mma-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#define __launch_bounds__(...)
#define IRIS_MMA_EMULATION

#include <cmath>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "iris_cuda.h"  // AttentionArgs; cuda_runtime.h gives the vector types and the qualifiers as host attributes
#include "ptx-emulation.h"

// ==== the CUDA built-ins the kernel uses, per emulated thread ====

#include "emulation-values.h"
#include "fiber-blocks.h"

#define threadIdx emuThreadIdx
#define blockIdx emuBlockIdx
#define blockDim emuBlockDim

// A warp collective's operands and results, a row a lane (fiber-blocks.h's EmuBlock: the last lane to arrive computes
// the whole warp's result).
struct Slot {
  const uint16_t* rows[32];
  uint32_t a[32][4], b[32][2], out[32][4];
  float c[32][4], v[32];
};
using Block = EmuBlock<Slot>;
Block* emuBlock = nullptr;

inline void __syncthreads() { emuBlock->bar.wait(); }

inline float __shfl_xor_sync(unsigned, float value, int laneMask) {
  Slot& slot = emuBlock->nextSlot();
  const int lane = emuLane();
  slot.v[lane] = value;
  emuBlock->warp().bar.wait();
  return slot.v[lane ^ laneMask];
}

namespace iris {
inline int min(int a, int b) { return a < b ? a : b; }
}  // namespace iris

#include "float_io.cuh"
#include "mma_frag.cuh"

#include "emulated-tensor-cores.h"  // ldmatrix, mma, cp.async

namespace iris {
namespace {
// The larger of the two kernels' needs: six tiles of head dim 128, plus attention_window.cu's angles (cos and sin of
// 64 rows of at most 64).
alignas(16) unsigned char smemRaw[6 * 64 * (128 + 8) * 2 + 2 * 64 * 64 * 4];
}  // namespace
}  // namespace iris

#include "../../native/cuda/kernels/attention_mma.cu"
#include "../../native/cuda/kernels/attention_window.cu"

// ==== cases ====

namespace {

using emulation::randomBf16;

// Launches the kernel's grid one block at a time, 128 fibers a block.
template <int D>
void runGrid(const iris::AttentionArgs& a) {
  static const iris::AttentionArgs* args;
  static iris::MmaPlan plan;
  args = &a;
  plan = iris::planMma(a);
  emuBlockDim = {Block::kThreads, 1, 1};
  const EmuDim grid{unsigned(plan.qChunks), unsigned(a.Hk * plan.headChunks), unsigned(a.S)};
  runBlocks(blocksInOrder(grid), emuBlock, [] { iris::attentionMmaKernel<D>(*args, plan); });
}

struct Case {
  const char* name;
  std::vector<int> qLens, kvLens;  // kvLens empty: varlen (keys = queries)
  int Hq, Hk;
  bool causal;
  int pageSize, chunk;
  bool fused = false;  // varlen q, k, v as the columns of one [T, (Hq + 2 Hk) D] product, read with its row stride
};

template <int D>
bool runCase(const Case& c) {
  const bool paged = !c.kvLens.empty();
  const int S = int(c.qLens.size());
  std::vector<int> starts{0};
  for (int n : c.qLens) starts.push_back(starts.back() + n);
  const int T = starts.back();
  std::vector<int> kvLens = paged ? c.kvLens : c.qLens;
  // Paged: every slot holds random keys.
  const emulation::ScrambledPages pages = paged ? emulation::scrambledPages(kvLens, c.pageSize) : emulation::ScrambledPages{};
  const int maxPages = pages.maxPages, numPages = pages.numPages;
  const std::vector<int>& table = pages.table;
  const int keyRows = paged ? numPages * c.pageSize : T;
  // Fused: q, k and v are views of one product (the values of all three drawn from [-2, 2]).
  const size_t fusedRow = size_t(c.Hq + 2 * c.Hk) * D;
  const std::vector<uint16_t> qkv = c.fused ? randomBf16(size_t(T) * fusedRow, -2, 2) : std::vector<uint16_t>{};
  const std::vector<uint16_t> q = c.fused ? std::vector<uint16_t>{} : randomBf16(size_t(T) * c.Hq * D, -2, 2);
  const std::vector<uint16_t> k = c.fused ? std::vector<uint16_t>{} : randomBf16(size_t(keyRows) * c.Hk * D, -2, 2);
  const std::vector<uint16_t> v = c.fused ? std::vector<uint16_t>{} : randomBf16(size_t(keyRows) * c.Hk * D, -1, 1);
  const uint16_t* qBase = c.fused ? qkv.data() : q.data();
  const uint16_t* kBase = c.fused ? qkv.data() + size_t(c.Hq) * D : k.data();
  const uint16_t* vBase = c.fused ? qkv.data() + size_t(c.Hq + c.Hk) * D : v.data();
  const size_t qRow = c.fused ? fusedRow : size_t(c.Hq) * D, kvRow = c.fused ? fusedRow : size_t(c.Hk) * D;
  std::vector<uint16_t> out(size_t(T) * c.Hq * D, 0x7fc0);  // NaN: rows never written show
  int maxQ = 0, maxKv = 0;
  for (int s = 0; s < S; s++) maxQ = std::max(maxQ, c.qLens[s]), maxKv = std::max(maxKv, kvLens[s]);

  iris::AttentionArgs a;
  a.dtype = iris::kBF16;
  a.out = out.data();
  a.q = qBase;
  a.k = kBase;
  a.v = vBase;
  if (c.fused) a.qRow = a.kRow = a.vRow = int(fusedRow);
  a.queryStart = starts.data();
  a.kvLens = paged ? kvLens.data() : nullptr;
  a.pageTable = paged ? table.data() : nullptr;
  a.tokens = T;
  a.S = S;
  a.Hq = c.Hq;
  a.Hk = c.Hk;
  a.D = D;
  a.maxPages = maxPages;
  a.pageSize = c.pageSize;
  a.numSlots = keyRows;
  a.maxQueryLen = maxQ;
  a.maxKvLen = maxKv;
  a.scale = 1.f / std::sqrt(float(D));
  a.causal = c.causal;
  a.chunkSize = c.chunk;
  a.paged = paged;
  runGrid<D>(a);

  // float64 reference over the same bf16 values.
  double diff = 0, norm = 0, maxErr = 0;
  int firstBad = -1;
  std::string firstBadText;
  const int group = c.Hq / c.Hk;
  for (int s = 0; s < S; s++) {
    const int qLen = c.qLens[s], kvLen = kvLens[s], offset = kvLen - qLen;
    for (int i = 0; i < qLen; i++) {
      const int pos = offset + i;
      const int lo = c.chunk > 0 ? pos - pos % c.chunk : 0, hi = (paged || c.causal) ? pos + 1 : kvLen;
      for (int h = 0; h < c.Hq; h++) {
        const int kv = h / group;
        auto keyRow = [&](int p) {
          return paged ? table[size_t(s) * maxPages + p / c.pageSize] * c.pageSize + p % c.pageSize : starts[s] + p;
        };
        std::vector<double> w(hi - lo);
        double mx = -INFINITY, sum = 0;
        for (int p = lo; p < hi; p++) {
          double dot = 0;
          for (int d = 0; d < D; d++)
            dot += double(ptxemu::bf16ToFloat(qBase[size_t(starts[s] + i) * qRow + size_t(h) * D + d])) *
                   ptxemu::bf16ToFloat(kBase[size_t(keyRow(p)) * kvRow + size_t(kv) * D + d]);
          w[p - lo] = dot * a.scale;
          mx = std::max(mx, w[p - lo]);
        }
        for (double& x : w) sum += (x = std::exp(x - mx));
        for (int d = 0; d < D; d++) {
          double ref = 0;
          for (int p = lo; p < hi; p++) ref += w[p - lo] / sum * ptxemu::bf16ToFloat(vBase[size_t(keyRow(p)) * kvRow + size_t(kv) * D + d]);
          const size_t idx = (size_t(starts[s] + i) * c.Hq + h) * D + d;
          const double got = ptxemu::bf16ToFloat(out[idx]), err = std::fabs(got - ref);
          diff += err * err;
          norm += ref * ref;
          if (!(err <= maxErr)) maxErr = err;
          if (!(err <= 0.03 + 0.03 * std::fabs(ref)) && firstBad < 0) {
            firstBad = int(idx);
            char text[160];
            std::snprintf(text, sizeof text, "  first bad: token %d head %d dim %d: %g vs %g\n", starts[s] + i, h, d, got, ref);
            firstBadText = text;
          }
        }
      }
    }
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-30));
  const bool ok = rel <= 1e-2 && firstBad < 0;
  std::printf("%s %s D=%d: relative L2 %.2e, max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.name, D, rel, maxErr,
              firstBadText.c_str());
  return ok;
}

// The window kernel (attention_window.cu: q and k rotated in shared memory, several heads a block) against the rotary
// arithmetic on the host followed by attentionMmaKernel on the rotated product: the same bits, every row written.
template <int D>
bool runWindowCase(const char* name, const std::vector<int>& lengths, int H, int R, bool interleaved, bool causal, int headsPerBlock) {
  const int S = int(lengths.size());
  std::vector<int> starts{0};
  for (int n : lengths) starts.push_back(starts.back() + n);
  const int T = starts.back();
  const size_t row = size_t(3 * H) * D;
  const std::vector<uint16_t> qkv = randomBf16(size_t(T) * row, -2, 2);
  std::vector<float> cosTab(size_t(T) * R), sinTab(size_t(T) * R);
  for (size_t i = 0; i < cosTab.size(); i++) {
    const float angle = 20 * emulation::uniform() - 10;
    cosTab[i] = std::cos(angle);
    sinTab[i] = std::sin(angle);
  }
  iris::AttentionArgs a;
  a.dtype = iris::kBF16;
  a.queryStart = starts.data();
  a.tokens = T;
  a.S = S;
  a.Hq = a.Hk = H;
  a.D = D;
  a.maxQueryLen = a.maxKvLen = *std::max_element(lengths.begin(), lengths.end());
  a.scale = 1.f / std::sqrt(float(D));
  a.causal = causal;
  a.qRow = a.kRow = a.vRow = int(row);

  // The window kernel on the unrotated product.
  std::vector<uint16_t> windowOut(size_t(T) * H * D, 0x7fc0), untouched(qkv);
  a.out = windowOut.data();
  a.q = untouched.data();
  a.k = untouched.data() + size_t(H) * D;
  a.v = untouched.data() + size_t(2 * H) * D;
  static const iris::AttentionArgs* args;
  static iris::WindowRotary rot;
  static int hpb;
  args = &a;
  rot = {cosTab.data(), sinTab.data(), R, interleaved};
  hpb = headsPerBlock;
  emuBlockDim = {Block::kThreads, 1, 1};
  runBlocks(blocksInOrder({unsigned(S), unsigned((H + hpb - 1) / hpb), 1}), emuBlock,
            [] { iris::windowAttentionKernel<D>(*args, rot, hpb); });
  const bool productKept = untouched == qkv;

  // q and k rotated on the host as the rotary kernels rotate them, then the tensor-core kernel.
  std::vector<uint16_t> rotated(qkv), mmaOut(size_t(T) * H * D, 0x7fc0);
  for (int t = 0; t < T; t++) {
    for (int h = 0; h < 2 * H; h++) {
      uint16_t* head = rotated.data() + size_t(t) * row + size_t(h) * D;
      for (int i = 0; i < R; i++) {
        const int x = interleaved ? 2 * i : i, y = interleaved ? 2 * i + 1 : i + R;
        float x1 = ptxemu::bf16ToFloat(head[x]), x2 = ptxemu::bf16ToFloat(head[y]);
        iris::rotatePair(x1, x2, cosTab[size_t(t) * R + i], sinTab[size_t(t) * R + i]);
        const uint32_t packed = iris::mma::packBf16(x1, x2);
        head[x] = uint16_t(packed & 0xffffu);
        head[y] = uint16_t(packed >> 16);
      }
    }
  }
  a.out = mmaOut.data();
  a.q = rotated.data();
  a.k = rotated.data() + size_t(H) * D;
  a.v = rotated.data() + size_t(2 * H) * D;
  runGrid<D>(a);

  size_t differ = 0, unwritten = 0;
  for (size_t i = 0; i < windowOut.size(); i++) {
    differ += windowOut[i] != mmaOut[i];
    unwritten += windowOut[i] == 0x7fc0;
  }
  const bool ok = differ == 0 && unwritten == 0 && productKept;
  std::printf("%s window kernel, %s D=%d: %zu of %zu differ from rotary + tensor-core kernel, %zu unwritten, product %s\n",
              ok ? "ok  " : "FAIL", name, D, differ, windowOut.size(), unwritten, productKept ? "kept" : "CHANGED");
  return ok;
}

}  // namespace

int main() {
  bool ok = true;
  ok &= runCase<16>({"varlen full, two segments", {40, 23}, {}, 2, 2, false, 0, 0});
  ok &= runCase<16>({"varlen causal, 32 q heads a KV head", {19, 70}, {}, 32, 1, true, 0, 0});
  ok &= runCase<16>({"varlen causal, 72 q heads a KV head (two head chunks)", {17}, {}, 72, 1, true, 0, 0});
  ok &= runCase<32>({"varlen causal, 5 q heads a KV head", {130}, {}, 5, 1, true, 0, 0});
  ok &= runCase<80>({"varlen full, windows", {64, 7, 33}, {}, 2, 2, false, 0, 0});
  ok &= runCase<88>({"varlen full and causal, padded head dim", {70}, {}, 1, 1, false, 0, 0});
  ok &= runCase<88>({"varlen causal, padded head dim", {70}, {}, 1, 1, true, 0, 0});
  ok &= runCase<128>({"paged prefix + chunked prefill + decode, GQA 8", {40, 1, 17}, {150, 9, 17}, 16, 2, true, 16, 0});
  ok &= runCase<64>({"paged, chunked mask", {70, 20}, {150, 20}, 5, 1, true, 16, 32});
  ok &= runCase<16>({"paged, pages of 64, chunk 8", {90}, {135}, 4, 2, true, 64, 8});
  // q, k, v read in place from the fused product: the vision towers' head dims and windows, GQA, causal.
  ok &= runCase<80>({"fused q|k|v, windows", {64, 7, 33, 64}, {}, 2, 2, false, 0, 0, true});
  ok &= runCase<88>({"fused q|k|v, padded head dim", {70, 17}, {}, 3, 3, false, 0, 0, true});
  ok &= runCase<16>({"fused q|k|v, 4 q heads a KV head, causal", {40, 23}, {}, 4, 1, true, 0, 0, true});
  // The window kernel: Qwen2.5-VL's windows (64, edges of 32 and 16), interleaved pairs, a partial rotation, causal,
  // a head count that leaves the last block short.
  ok &= runWindowCase<80>("windows of 64, 32, 16, neox R = 40", {64, 32, 16, 64}, 5, 40, false, false, 4);
  ok &= runWindowCase<88>("interleaved R = 44, padded head dim", {64, 7}, 3, 44, true, false, 2);
  ok &= runWindowCase<16>("partial rotation R = 4, causal", {33, 1, 64}, 6, 4, false, true, 4);
  ok &= runWindowCase<64>("one head a block", {48, 64}, 2, 32, false, false, 1);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
