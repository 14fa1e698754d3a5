// The FP8 row products' epilogue, shared by the weight-streaming kernels (fp8_gemv.cu, include/fp8_stream.cuh,
// include/fp8_stream_mma.cuh) and the tensor-core grouped product (fp8_grouped_mma.cu): a finished sum of E4M3
// products gets both scales once, after the sum, as the cpu reference (src/runtime/cpu/fp8.ts) applies them, then the
// bias; the row goes where rowMap says.
#pragma once

#include "float_io.cuh"
#include "iris_cuda.h"

namespace iris {

// out[rowMap[p] or p, n] = acc * xScale * wScale[e, n] + bias[n].
template <typename OutT>
__device__ __forceinline__ void fp8Epilogue(const Fp8RowsArgs& g, int p, int e, int n, float acc, float xScale) {
  float v = acc * xScale * g.wScale[size_t(e) * g.N + n];
  if (g.bias != nullptr) v += toFloat(static_cast<const OutT*>(g.bias)[n]);
  const size_t row = g.rowMap != nullptr ? size_t(g.rowMap[p]) : size_t(p);
  static_cast<OutT*>(g.out)[row * g.N + n] = fromFloat<OutT>(v);
}

// The MoE's two products of one token summed (fp8_shared_expert.cuh: the routed expert's down beside the shared
// expert's): each value rounded to the output type as its product alone stores it, then added as the add kernel adds
// the two outputs, so the sum has the bits of the two products and the add. Neither has a bias; a's rowMap places it.
template <typename OutT>
__device__ __forceinline__ void pairEpilogue(const Fp8RowsArgs& a, const Fp8RowsArgs& b, int p, int e, int n, float sumA,
                                             float xScaleA, float sumB, float xScaleB) {
  // Explicitly rounded operations: with F32 outputs nvcc would otherwise contract a product into the sum (an FMA),
  // and the result would differ in its last bit from the two products stored apart and then added (the H200 showed
  // it at 6a88101; bf16 rounds each product first, so it was already exact).
  const float va = toFloat(fromFloat<OutT>(__fmul_rn(__fmul_rn(sumA, xScaleA), a.wScale[size_t(e) * a.N + n])));
  const float vb = toFloat(fromFloat<OutT>(__fmul_rn(__fmul_rn(sumB, xScaleB), b.wScale[n])));
  const size_t row = a.rowMap != nullptr ? size_t(a.rowMap[p]) : size_t(p);
  static_cast<OutT*>(a.out)[row * a.N + n] = fromFloat<OutT>(__fadd_rn(vb, va));
}

// silu(gate) * up of one expert's gate and up products (fp8_shared_expert.cuh's folded gate|up, its matrix seen as
// gate.N = I rows a half: eGate's and eUp's halves): each product rounded to the output type as the product stores it,
// then siluTimes as the siluAndMul kernel computes it, rounded: the bits of gate|up, then siluAndMul. No bias, no rowMap.
template <typename OutT>
__device__ __forceinline__ void gatedEpilogue(const Fp8RowsArgs& g, int p, int eGate, int eUp, int n, float sumG,
                                              float xScaleG, float sumU, float xScaleU) {
  // Explicitly rounded: the product's two multiplies (fp8Epilogue's acc * xScale * wScale), never contracted.
  const float gate = toFloat(fromFloat<OutT>(__fmul_rn(__fmul_rn(sumG, xScaleG), g.wScale[size_t(eGate) * g.N + n])));
  const float up = toFloat(fromFloat<OutT>(__fmul_rn(__fmul_rn(sumU, xScaleU), g.wScale[size_t(eUp) * g.N + n])));
  static_cast<OutT*>(g.out)[size_t(p) * g.N + n] = fromFloat<OutT>(siluTimes(gate, up));
}

}  // namespace iris
