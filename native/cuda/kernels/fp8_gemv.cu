// The weight-streaming FP8 product (fp8Rows in iris_cuda.h): out[rowMap[p], n] = (x[p] · w_e[n]) * xScale[p] *
// wScale[e, n] + bias[n], for rows p grouped by expert e (one group without offsets: a plain linear layer). Decode
// reads each weight once, so it runs at the speed the weights arrive: one warp per weight row (output channel), each
// lane streaming 16-byte chunks (16 FP8 values) with streaming loads, a batch of loads in flight before the first is
// used, every row of its expert at once (up to 8; more rows loop, reading the weight row again from L2). x rows are
// FP8 too (quantized per token), read through L1. Both operands are decoded through half2 (exact) and summed in fp32;
// the scales come once, after the sum, as the cpu reference applies them.
//
// Grid: (ceil(N / 8), experts with rows at most): block y serves the y-th expert that has rows (blocks past the last
// such expert exit), so a decode step of one token reads one expert's weights, not all of them.
//
// With a float x (args.xDtype >= 0; at most 4 rows) the blocks quantize x themselves (fp8_quantizing.cuh's
// quantizingRowsKernel, one resident wave of blocks): at batch 1 the quantizing kernel before each product cost Scout
// 5.6 to 8.4 µs, four a layer. Whether callers hand it a float x is setFp8QuantizeInProduct's choice (below); whether
// that kernel's dot products run on the tensor cores, setFp8ProductOnTensorCores's (fp8_stream_mma.cuh).
#include <cstdlib>

#include "fp8_quantizing.cuh"

namespace iris {

namespace {

using fp8stream::blockExpert;
using fp8stream::dotChunks;
using fp8stream::FloatRows;
using fp8stream::kWarps;

// ==== kernels ====

// VEC: K a multiple of 16 and 16-byte aligned rows (chunks of 16 values); else one value at a time.
template <int MT, bool VEC, int BATCH, typename OutT>
__global__ void __launch_bounds__(kWarps * 32) fp8RowsKernel(Fp8RowsArgs g) {
  int e = 0, start = 0, count = 0;
  if (!blockExpert(g, &e, &start, &count)) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kWarps + warp;
  if (n >= int(g.N)) return;
  const int K = int(g.K);
  const uint8_t* wRow = static_cast<const uint8_t*>(g.w) + (size_t(e) * g.N + n) * K;
  const uint8_t* x = static_cast<const uint8_t*>(g.x);
  for (int p0 = start; p0 < start + count; p0 += MT) {
    const int rows = min(MT, start + count - p0);
    float acc[MT];
#pragma unroll
    for (int t = 0; t < MT; t++) acc[t] = 0.f;
    if (VEC) {
      const uint4* x4 = reinterpret_cast<const uint4*>(x + size_t(p0) * K);
      dotChunks<MT, BATCH>(reinterpret_cast<const uint4*>(wRow), K / 16, lane, rows, count <= MT,
                    [&](int t, int c) { return __ldg(x4 + size_t(t) * (K / 16) + c); }, acc);
    } else {
      for (int k = lane; k < K; k += 32) {
        const float wf = e4m3ToFloat(wRow[k]);
#pragma unroll
        for (int t = 0; t < MT; t++) {
          if (t >= rows) break;
          acc[t] = fmaf(wf, e4m3ToFloat(x[size_t(p0 + t) * K + k]), acc[t]);
        }
      }
    }
#pragma unroll
    for (int t = 0; t < MT; t++) {
      if (t >= rows) break;
      const float sum = warpSum(acc[t]);
      if (lane == 0) fp8Epilogue<OutT>(g, p0 + t, e, n, sum, g.xScale[p0 + t]);
    }
  }
}

template <int MT, typename OutT>
std::string launch(const Fp8RowsArgs& g, bool vec) {
  const size_t groups = g.offsets == nullptr ? 1 : (g.T < g.E ? g.T : g.E);  // at most this many experts have rows
  const dim3 grid(unsigned((g.N + kWarps - 1) / kWarps), unsigned(groups));
  if (!vec) {
    fp8RowsKernel<MT, false, fp8stream::kBatch, OutT><<<grid, kWarps * 32, 0, stream()>>>(g);
    return launchStatus("fp8 product (weight streaming)");
  }
  return fp8stream::withStreamBatch<MT, OutT>([&](auto batch) {
    fp8RowsKernel<MT, true, decltype(batch)::value, OutT><<<grid, kWarps * 32, 0, stream()>>>(g);
    return launchStatus("fp8 product (weight streaming)");
  });
}

template <typename OutT>
std::string launchRows(const Fp8RowsArgs& g, bool vec) {
  // Rows per pass: as many as an expert may have, up to 8 (registers: 8 accumulators and 16 decoded weights).
  if (g.T <= 1) return launch<1, OutT>(g, vec);
  if (g.T <= 2) return launch<2, OutT>(g, vec);
  if (g.T <= 4) return launch<4, OutT>(g, vec);
  return launch<8, OutT>(g, vec);
}

}  // namespace

// ==== launchers ====

namespace {
int forcedBatch = 0;
// The default of setFp8QuantizeInProduct (-1): inside. Measured on the H200 (bench/decode-layers-scout.ts's
// fp8QuantizeInProduct sweep, 25d8ad1), a Scout layer at batch 1 takes 150.2 µs with the resident-wave kernels
// against 177.7 with quantizeFp8 before each product (q|k|v 17.2 vs 20.0, o 11.7 vs 15.9, the experts 51.4 vs 59.0,
// shared down 16.1 vs 22.9); the first version of this kernel lost (220 against 187). kernels/linear-fp8.ts reads the
// choice through the addon.
constexpr bool kQuantizeInProductDefault = true;
int quantizeInProduct = -1;
// The rule of setFp8ProductOnTensorCores (-1): the tensor cores (on sm_89+) for products of more than 5,120 rows.
// Measured on the H200 (bench/decode-layers-scout.ts's fp8ProductOnTensorCores sweep, 235cfd7, each way forced), a
// Scout layer at batch 1 takes 137.85 µs on the tensor cores against 150.88 on the CUDA cores: q|k|v (7,168 rows)
// 13.77 vs 17.29, shared gate|up (16,384) 24.02 vs 29.98, the experts (gate|up 16,384, down 5,120) 49.81 vs 51.6;
// but o 13.01 vs 11.62 and shared down 16.8 vs 16.08, the products of 5,120 rows (320 blocks of 16 rows a pass,
// under one wave of resident blocks: too few loads in flight), lose. The rule by rows, not yet measured as such, should
// save o's and the two downs' ~2.8 µs more a layer (~135 µs).
constexpr size_t kCudaCoresMaxRows = 5120;
int onTensorCores = -1;
// The default of setFp8PrefetchBudget (-1), MB: the quantizing products send their first passes' weights to L2 before
// their wait, up to this much a call (fp8_quantizing.cuh's prefetchBytesFor). Predicted: o (26 MB) arriving in L2
// during decode attention's ~7 µs, the first MB of q|k|v during addRmsNorm's and of the shared gate|up during the
// routing. Measured on the H200 (bench/decode-layers-scout.ts's fp8PrefetchBudgets at 95141ac, Scout at batch 1, the
// model's layer with the shared expert folded, µs a layer for 0 / 16 / 32 / 48 MB): 137.25 / 131.85 / 135.68 / 137.86;
// at fc33385 for 0 / 4 / 8 / 12 / 16 / 24 MB: 135.47 / 130.45 / 129.69 / 130.0 / 130.46 / 132.79. Each product alone,
// behind a copy of itself (nothing to overlap), loses from 12 MB on (q|k|v 13.93 at 0 and 8, 14.23 at 12, 14.6 at 16,
// 16.34 at 32): a prefetch queued ahead of the loads that need their bytes first delays them, the more so the larger.
constexpr int kPrefetchBudgetDefaultMB = 8;
int prefetchBudgetMB = -1;
// The rule of setFp8BulkRows (-1): the tensor-core products through registers (MmaRows), not by bulk copies
// (fp8_stream_bulk.cuh). Measured on the H200 at e03b6fc (bench/decode-layers-scout.ts's fp8BulkRows sweep, Scout at
// batch 1, µs a call registers / bulk): q|k|v 13.83 / 15.56, the routed experts 50.96 / 62.16, shared gate|up 24.28 /
// 30.18, the MoE block 89.47 / 108.6, a layer 130.2 / 153.3; bench/latency.ts 141.4 / 122.0 tok/s. By tiles a
// multiprocessor (bench/fp8-tiles-cuda.ts, K = 5,120) bulk copies win only up to ~2.4 (5.16 / 6.18 µs at 1, 11.21 /
// 12.22 at 2.42) and lose past 3 (14.27 / 12.69 at 3.39, 31.9 / 23.8 at 8): see fp8_stream_bulk.cuh.
// IRIS_FP8_BULK_ROWS=0 / 1 sets the starting choice, so a whole run (bench/latency.ts) measures either way.
constexpr bool kBulkRowsByRule = false;
// An environment variable's choice for measuring a whole run: 0 or 1 where it is exactly "0" or "1", else -1.
int environmentChoice(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && (v[0] == '0' || v[0] == '1') && v[1] == '\0' ? v[0] - '0' : -1;
}
int bulkRows = environmentChoice("IRIS_FP8_BULK_ROWS");
// IRIS_FP8_PAIRED_DOWN_DEPENDENT=0: the folded downs as ordinary launches (fp8_shared_expert.cuh), for measuring.
const bool pairedDownDependentChoice = environmentChoice("IRIS_FP8_PAIRED_DOWN_DEPENDENT") != 0;
}  // namespace

namespace fp8stream {
int forcedFp8StreamBatch() { return forcedBatch; }
bool quantizesInProduct() { return quantizeInProduct < 0 ? kQuantizeInProductDefault : quantizeInProduct == 1; }
size_t prefetchBudgetBytes() { return size_t(prefetchBudgetMB < 0 ? kPrefetchBudgetDefaultMB : prefetchBudgetMB) << 20; }
// FP8 tensor cores (mma over E4M3) from sm_89 on; the CUDA cores elsewhere whatever the choice.
bool productOnTensorCores(size_t rows) {
  const bool chosen = onTensorCores < 0 ? rows > kCudaCoresMaxRows : onTensorCores == 1;
  return chosen && computeCapability() >= 89;
}
bool productByBulkCopy() { return bulkRows < 0 ? kBulkRowsByRule : bulkRows == 1; }
bool pairedDownDependent() { return pairedDownDependentChoice; }
}  // namespace fp8stream

void setFp8BulkRows(int mode) { bulkRows = mode == 0 || mode == 1 ? mode : -1; }

void setFp8StreamBatch(int batch) { forcedBatch = batch == 4 || batch == 8 || batch == 16 ? batch : 0; }

void setFp8PrefetchBudget(int megabytes) { prefetchBudgetMB = megabytes < 0 ? -1 : megabytes; }

void setFp8QuantizeInProduct(int mode) { quantizeInProduct = mode == 0 || mode == 1 ? mode : -1; }

int fp8QuantizeInProduct() { return fp8stream::quantizesInProduct() ? 1 : 0; }

void setFp8ProductOnTensorCores(int mode) { onTensorCores = mode == 0 || mode == 1 ? mode : -1; }

// 1 where the tensor cores take the products (forced, or by the rule for the largest), 0 where the CUDA cores take all.
int fp8ProductOnTensorCores() { return fp8stream::productOnTensorCores(SIZE_MAX) ? 1 : 0; }

void setFp8Timeline(void* buffer, size_t bytes) {
  fp8timeline::Recorder& r = fp8timeline::recorder();
  r.buffer = static_cast<unsigned long long*>(buffer);
  r.capacityWords = buffer == nullptr ? 0 : bytes / sizeof(unsigned long long);
  r.usedWords = 0;
  r.launches.clear();
}

std::string fp8TimelineLaunches() {
  std::string lines;
  for (const fp8timeline::Launch& l : fp8timeline::recorder().launches) {
    lines += l.name + "," + std::to_string(l.gridX) + "," + std::to_string(l.gridY) + "," + std::to_string(l.firstWord) + "\n";
  }
  return lines;
}

std::string fp8Rows(const Fp8RowsArgs& g) {
  if (g.T == 0 || g.N == 0) return "";
  if (g.K > size_t(INT32_MAX) || g.N > size_t(INT32_MAX) || g.T > size_t(INT32_MAX)) return "fp8 product: sizes too large";
  if (g.E == 0 || g.E > 65535) return "fp8 product: 1 to 65535 experts";
  const uintptr_t bits = reinterpret_cast<uintptr_t>(g.x) | reinterpret_cast<uintptr_t>(g.w);
  const bool vec = g.K % 16 == 0 && bits % 16 == 0;
  if (g.xDtype >= 0) {
    if (g.xDtype != g.outDtype) return "fp8 product: a float x and the output must share a dtype";
    const bool aligned = reinterpret_cast<uintptr_t>(g.x) % 16 == 0;  // rows then too: K is a multiple of 16
    switch (g.xDtype) {
      case kBF16:
        return fp8stream::quantizingRows<__nv_bfloat16>(g, FloatRows<__nv_bfloat16>{static_cast<const __nv_bfloat16*>(g.x), g.K, aligned});
      case kF32: return fp8stream::quantizingRows<float>(g, FloatRows<float>{static_cast<const float*>(g.x), g.K, aligned});
      default: return "fp8 product: quantizing inside takes a bf16 or F32 x";
    }
  }
  switch (g.outDtype) {
    case kBF16: return launchRows<__nv_bfloat16>(g, vec);
    case kF16: return launchRows<__half>(g, vec);
    case kF32: return launchRows<float>(g, vec);
    default: return "fp8 product: unsupported output dtype " + std::to_string(g.outDtype);
  }
}

}  // namespace iris
