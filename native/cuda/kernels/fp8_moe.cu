// Llama 4's routed experts with FP8 weights (Backend.moeTop1SigmoidFp8), with no host round trip:
//   1. route: moe.cu's routing block (each token's expert and sigmoid score, offsets, the permutation grouping tokens
//      by expert);
//   2. gather, scale and quantize: xq[p] = e4m3(x[perm[p]] * s / scale_p), the scaled input first rounded to the
//      storage type as the bf16 path rounds it, one scale per token (one block per token);
//   3. h = xq · gateUp[e]ᵀ with both scales (a product over rows grouped by expert), rows in expert order;
//   4. act = silu(h[:, :I]) * h[:, I:] (elementwise.cu's siluAndMul), quantized per token (fp8_quantize.cu);
//   5. out[perm[p]] = actq[p] · down[e]ᵀ with both scales, scattered back to token order by the same product.
// The weights are in per-expert nn.Linear layout (gateUp [E, 2I, H], down [E, H, I]): rows of K contiguous bytes, which
// both products' kernels read as they are. Past 8 tokens (prefill) the products run on the FP8 tensor cores
// (fp8_grouped_mma.cu: 128 channels x 64 tokens of one expert a block, each expert's weights read once per 64 of its
// tokens); up to 8 (decode) on fp8_gemv.cu's weight streaming, where one token reads one expert's weights and an
// expert's rows go 8 at a time. setFp8GroupedMma forces either (fp8GroupedMmaApplies).
// At decode sizes (a few tokens: fp8_quantizing.cuh's quantizingRowsRefusal), where setFp8QuantizeInProduct chooses it
// and the grouped kernel does not serve, steps 2 and 4 move into the streaming products' blocks, which quantize their
// input rows themselves from what those steps would have written (the same bytes and scales): route, gate|up, down,
// three kernels where there were six. Those stream on the CUDA cores or, as setFp8ProductOnTensorCores chooses, on
// the tensor cores too (fp8_stream_mma.cuh).
// With the shared expert (moeTop1SigmoidFp8Shared, where moeFp8SharedFold says it serves), its gate|up and down ride
// the routed expert's two products and its output is added in the down's epilogue: route, gate|up, down
// (include/fp8_shared_expert.cuh), three kernels where the routed expert and the shared one took seven.
// Scratch (routing tables, xq, scales, h, act; with the shared expert its act too; moeFp8ScratchBytes,
// moeFp8SharedScratchBytes): include/expert_scratch.h.
#include "expert_scratch.h"
#include "float_io.cuh"
#include "fp8.cuh"
#include "fp8_shared_expert.cuh"

namespace iris {

namespace {

// ==== kernels ====

template <typename T>
__global__ void __launch_bounds__(256) gatherScaleQuantizeKernel(uint8_t* xq, float* xScale, const T* x, const int32_t* perm,
                                                                 const float* score, int H) {
  __shared__ float shared32[32];
  const int p = blockIdx.x, t = perm[p];
  const float s = score[t];
  const T* src = x + size_t(t) * H;
  float amax = 0.f;
  for (int j = threadIdx.x; j < H; j += blockDim.x) amax = fmaxf(amax, fabsf(toFloat(fromFloat<T>(toFloat(src[j]) * s))));
  const float scale = fp8ScaleFor(blockAbsMax(amax, shared32));
  if (threadIdx.x == 0) xScale[p] = scale;
  uint8_t* dst = xq + size_t(p) * H;
  for (int j = threadIdx.x; j < H; j += blockDim.x) dst[j] = toE4m3(toFloat(fromFloat<T>(toFloat(src[j]) * s)) / scale);
}

using fp8stream::ActivatedRows;
using fp8stream::FloatRows;
using fp8stream::GatheredRows;
using fp8stream::PermutedRows;

// An expert product of quantized rows: on the tensor cores at prefill sizes (fp8_grouped_mma.cu), else streaming.
std::string expertRows(const Fp8RowsArgs& g) { return fp8GroupedMmaApplies(g) ? fp8GroupedMma(g) : fp8Rows(g); }

struct Scratch {
  RoutingTables routing;
  size_t xq, xScale, h, act, actShared, total;
};

Scratch planScratch(int dtype, size_t T, size_t H, size_t E, size_t I, bool withShared = false) {
  const size_t element = dtypeBytes(dtype);
  Scratch s{};
  s.routing = planRoutingTables(T, E);
  size_t at = s.routing.end;
  s.xq = at; at += alignScratch(T * (H > I ? H : I));  // the expert inputs, then the activations
  s.xScale = at; at += alignScratch(T * 4);
  s.h = at; at += alignScratch(T * 2 * I * element);
  s.act = at; at += alignScratch(T * I * element);
  s.actShared = at; at += withShared ? alignScratch(T * I * element) : 0;  // the shared expert's activations, token order
  s.total = at;
  return s;
}

// The shared expert's products folded into the routed expert's (include/fp8_shared_expert.cuh): gate|up with the
// shared expert as one more group of blocks (x unscaled), each writing its activations (the routed expert's to `act`
// in expert order, the shared expert's to `actShared` in token order), then both downs summed into out.
template <typename T>
std::string runWithShared(const Fp8RowsArgs& gateUpRows, const Fp8RowsArgs& downRows, const Fp8SharedExpert& shared,
                          const T* x, const int32_t* perm, const float* score, void* act, void* actShared) {
  Fp8RowsArgs sharedGateUp = gateUpRows, sharedDown = downRows;
  for (Fp8RowsArgs* g : {&sharedGateUp, &sharedDown}) {
    g->offsets = nullptr;  // one matrix, all T rows in token order
    g->rowMap = nullptr;
    g->E = 1;
  }
  sharedGateUp.w = shared.gateUp; sharedGateUp.wScale = shared.gateUpScale;
  sharedDown.w = shared.down; sharedDown.wScale = shared.downScale; sharedDown.out = nullptr;  // summed into downRows.out
  std::string status = fp8stream::sharedExpertRefusal(gateUpRows, downRows);
  if (status.empty()) status = fp8stream::sharedExpertRefusal(sharedGateUp, sharedDown);
  if (!status.empty()) return status;
  const size_t H = gateUpRows.K, I = downRows.K;
  const bool aligned = reinterpret_cast<uintptr_t>(x) % 16 == 0;
  status = fp8stream::sharedExpertRows<T, false>(fp8stream::gatedHalves(gateUpRows, act), fp8stream::gatedHalves(sharedGateUp, actShared),
                                                 GatheredRows<T>{x, perm, score, H, aligned}, FloatRows<T>{x, H, aligned});
  if (!status.empty()) return status;
  return fp8stream::sharedExpertRows<T, true>(downRows, sharedDown, PermutedRows<T>{static_cast<const T*>(act), I},
                                              PermutedRows<T>{static_cast<const T*>(actShared), I, perm});
}

template <typename T>
std::string run(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp, const float* gateUpScale,
                const void* down, const float* downScale, const Fp8SharedExpert* shared, size_t tokens, size_t H, size_t E,
                size_t I, unsigned char* base, const Scratch& s) {
  int32_t* expertOf = reinterpret_cast<int32_t*>(base + s.routing.expertOf);
  float* score = reinterpret_cast<float*>(base + s.routing.score);
  int32_t* offsets = reinterpret_cast<int32_t*>(base + s.routing.offsets);
  int32_t* perm = reinterpret_cast<int32_t*>(base + s.routing.perm);
  uint8_t* xq = base + s.xq;
  float* xScale = reinterpret_cast<float*>(base + s.xScale);
  void* h = base + s.h;
  void* act = base + s.act;

  std::string status = moeRoute(dtype, routerLogits, tokens, E, expertOf, score, offsets, perm);
  if (!status.empty()) return status;

  Fp8RowsArgs g;
  g.outDtype = dtype;
  g.offsets = offsets;
  g.x = xq;
  g.xScale = xScale;
  g.T = tokens;
  g.E = E;
  Fp8RowsArgs gateUpRows = g, downRows = g;
  gateUpRows.w = gateUp; gateUpRows.wScale = gateUpScale; gateUpRows.out = h; gateUpRows.K = H; gateUpRows.N = 2 * I;
  downRows.w = down; downRows.wScale = downScale; downRows.out = out; downRows.rowMap = perm; downRows.K = I; downRows.N = H;
  const bool tensorCores = fp8GroupedMmaApplies(gateUpRows) || fp8GroupedMmaApplies(downRows);
  if constexpr (!std::is_same_v<T, __half>) {  // the quantizing products serve bf16 and F32 (fp8_quantizing.cuh)
    if (shared != nullptr) {
      if (tensorCores) return "moe fp8 with the shared expert: not where the grouped tensor-core product serves";
      return runWithShared<T>(gateUpRows, downRows, *shared, static_cast<const T*>(x), perm, score, act, base + s.actShared);
    }
    if (!tensorCores && fp8stream::quantizesInProduct() && fp8stream::quantizingRowsRefusal(gateUpRows).empty() &&
        fp8stream::quantizingRowsRefusal(downRows).empty()) {
      const bool aligned = reinterpret_cast<uintptr_t>(x) % 16 == 0;
      status = fp8stream::quantizingRows<T>(gateUpRows, GatheredRows<T>{static_cast<const T*>(x), perm, score, H, aligned});
      if (!status.empty()) return status;
      // The routing tables are two kernels back from down's product: its blocks find their expert and prefetch its
      // weights while gate|up's product still runs.
      return fp8stream::quantizingRows<T>(downRows, ActivatedRows<T>{static_cast<const T*>(h), I}, true);
    }
  }
  if (shared != nullptr) return "moe fp8 with the shared expert: bf16 or F32 only";

  gatherScaleQuantizeKernel<T><<<unsigned(tokens), 256, 0, stream()>>>(xq, xScale, static_cast<const T*>(x), perm, score, int(H));
  status = launchStatus("moe fp8 (gather, scale, quantize)");
  if (!status.empty()) return status;

  status = expertRows(gateUpRows);
  if (status.empty()) status = siluAndMul(dtype, act, h, tokens, I);
  if (status.empty()) status = quantizeFp8(dtype, xq, xScale, act, 1, tokens, I, false);
  if (!status.empty()) return status;
  return expertRows(downRows);
}

// The rule of setFp8MoeSharedFold (-1): true, the fold wherever moeFp8SharedFold serves the call. Measured on the H200
// at 6a88101: the MoE block 89.75 µs folded against 94.01 apart, a Scout layer 135.0 against 139.4 µs (predicted ~13
// µs less; bench/decode-layers-scout.ts). There, with F32 outputs, the fold differed from the kernels apart in the
// last bit (an FMA contraction in pairEpilogue, fp8_epilogue.cuh, since written with explicit roundings);
// tests/cuda/fp8-moe-shared.test.ts passed on the H200 at ccf986a. false runs the seven kernels on every call.
constexpr bool kSharedFoldDefault = true;
int sharedFold = -1;

}  // namespace

// ==== launchers ====

size_t moeFp8ScratchBytes(int dtype, size_t T, size_t H, size_t E, size_t I) {
  return planScratch(dtype, T, H, E, I).total;
}

std::string moeTop1SigmoidFp8(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp,
                              const float* gateUpScale, const void* down, const float* downScale, size_t T, size_t H,
                              size_t E, size_t I, void* scratch, size_t scratchBytes) {
  if (T == 0 || H == 0) return "";
  const Scratch s = planScratch(dtype, T, H, E, I);
  return withExpertScratch("moeTop1SigmoidFp8", dtype, T, H, I, s.total, scratch, scratchBytes, [&](unsigned char* base) {
    std::string status;
    IRIS_FLOAT_DISPATCH(dtype, S, status = run<S>(dtype, out, x, routerLogits, gateUp, gateUpScale, down, downScale, nullptr,
                                                  T, H, E, I, base, s));
    return status;
  });
}

void setFp8MoeSharedFold(int mode) { sharedFold = mode == 0 || mode == 1 ? mode : -1; }

bool moeFp8SharedFold(int dtype, size_t T, size_t H, size_t E, size_t I) {
  if (!(sharedFold < 0 ? kSharedFoldDefault : sharedFold == 1)) return false;
  if ((dtype != kBF16 && dtype != kF32) || !fp8stream::quantizesInProduct()) return false;
  Fp8RowsArgs gateUpRows, downRows;
  gateUpRows.T = downRows.T = T;
  gateUpRows.E = downRows.E = E;
  gateUpRows.K = H; gateUpRows.N = 2 * I;
  downRows.K = I; downRows.N = H;
  if (fp8GroupedMmaApplies(gateUpRows) || fp8GroupedMmaApplies(downRows)) return false;
  return T > 0 && fp8stream::sharedExpertRefusal(gateUpRows, downRows).empty();
}

size_t moeFp8SharedScratchBytes(int dtype, size_t T, size_t H, size_t E, size_t I) {
  return planScratch(dtype, T, H, E, I, true).total;
}

std::string moeTop1SigmoidFp8Shared(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp,
                                    const float* gateUpScale, const void* down, const float* downScale,
                                    const Fp8SharedExpert& shared, size_t T, size_t H, size_t E, size_t I, void* scratch,
                                    size_t scratchBytes) {
  if (T == 0 || H == 0) return "";
  const Scratch s = planScratch(dtype, T, H, E, I, true);
  return withExpertScratch("moeTop1SigmoidFp8Shared", dtype, T, H, I, s.total, scratch, scratchBytes, [&](unsigned char* base) {
    std::string status;
    IRIS_FLOAT_DISPATCH(dtype, S, status = run<S>(dtype, out, x, routerLogits, gateUp, gateUpScale, down, downScale, &shared,
                                                  T, H, E, I, base, s));
    return status;
  });
}

}  // namespace iris
