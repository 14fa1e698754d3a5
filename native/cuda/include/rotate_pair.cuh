// One rotary pair turned by its angle, in fp32 with the multiply-adds spelled out: every kernel that rotates q and k
// for the vision towers (rotary_apply.cuh's kernels, attention_window.cu in shared memory) computes it this way, so
// their bf16 results are the same bits. Plain C++ too (the cpu emulations): std::fma rounds as __fmaf_rn does.
#pragma once

#ifdef __CUDA_ARCH__
#define IRIS_ROTATE_FMA __fmaf_rn
#define IRIS_ROTATE_MUL __fmul_rn
#else
#include <cmath>
#define IRIS_ROTATE_FMA std::fma
#define IRIS_ROTATE_MUL(a, b) ((a) * (b))
#endif

namespace iris {

// (x1, x2) <- (x1 c - x2 s, x2 c + x1 s).
#ifdef __CUDACC__
__host__ __device__
#endif
inline void rotatePair(float& x1, float& x2, float c, float s) {
  const float u = x1, w = x2;
  x1 = IRIS_ROTATE_FMA(u, c, -IRIS_ROTATE_MUL(w, s));
  x2 = IRIS_ROTATE_FMA(w, c, IRIS_ROTATE_MUL(u, s));
}

}  // namespace iris

#undef IRIS_ROTATE_FMA
#undef IRIS_ROTATE_MUL
