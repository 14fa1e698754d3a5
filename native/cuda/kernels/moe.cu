// Llama 4's routed experts, top-1 with a sigmoid score (Backend.moeTop1Sigmoid), with no host round trip:
//   1. route (one block): e(t) = the first maximum of routerLogits[t], s(t) = sigmoid(logit) rounded to the storage
//      type (as Hugging Face's router does), per-expert counts, their offsets, and a permutation grouping the
//      tokens by expert;
//   2. gather: xs[p] = x[perm[p]] * s(perm[p]) rounded to the storage type (the score scales the expert's input);
//      at most 8 tokens, inside the routing block;
//   3. h = xs · gateUp[e] (grouped product, include/grouped_matmul.h), rows in expert order;
//   4. act = silu(h[:, :I]) * h[:, I:] (elementwise.cu's siluAndMul; at most 8 tokens, the product's final pass);
//   5. out[perm[p]] = act[p] · down[e] (grouped product scattering its rows back to token order).
// The shared expert is the layer's own gated MLP (src/layers/moe.ts), added to this output there.
// Scratch (routing tables, xs, h, act, the few-rows accumulator; moeScratchBytes) comes from the caller, the step's
// arena on the TypeScript side, so a captured graph keeps no memory of its own for it; without it, a caching-allocator
// block per call.
#include "expert_scratch.h"
#include "float_io.cuh"
#include "grouped_matmul.h"

namespace iris {

namespace {

constexpr int kMaxExperts = 1024;
constexpr int kRouteThreads = 1024;

// ==== kernels ====

// With `xs` (few tokens: one launch fewer at decode) the block also gathers the scaled inputs; `zero` [zeroCount]
// (the weight-streaming products' accumulators) is cleared here for the same reason.
template <typename T>
__global__ void __launch_bounds__(kRouteThreads) routeKernel(const T* logits, int tokens, int E, int32_t* expertOf,
                                                             float* score, int32_t* offsets, int32_t* perm, const T* x,
                                                             T* xs, int H, float* zero, size_t zeroCount) {
  __shared__ int counts[kMaxExperts];
  __shared__ int cursor[kMaxExperts];
  for (int e = threadIdx.x; e < E; e += blockDim.x) counts[e] = 0;
  __syncthreads();
  for (int t = threadIdx.x; t < tokens; t += blockDim.x) {
    const T* row = logits + size_t(t) * E;
    int best = 0;
    float top = toFloat(row[0]);
    // As the cpu reference: a later expert wins only when strictly greater (first maximum; a NaN never wins).
    for (int e = 1; e < E; e++) {
      const float v = toFloat(row[e]);
      if (v > top) { best = e; top = v; }
    }
    expertOf[t] = best;
    score[t] = toFloat(fromFloat<T>(1.f / (1.f + expf(-top))));
    atomicAdd(&counts[best], 1);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int run = 0;
    for (int e = 0; e < E; e++) {
      offsets[e] = run;
      cursor[e] = run;
      run += counts[e];
    }
    offsets[E] = run;
  }
  __syncthreads();
  // Within an expert the order is the atomics' (each row's result does not depend on its position).
  for (int t = threadIdx.x; t < tokens; t += blockDim.x) perm[atomicAdd(&cursor[expertOf[t]], 1)] = t;
  for (size_t i = threadIdx.x; i < zeroCount; i += blockDim.x) zero[i] = 0.f;
  if (xs == nullptr) return;
  __syncthreads();  // perm and score, written by other threads of the block, are visible from here on
  for (size_t i = threadIdx.x; i < size_t(tokens) * H; i += blockDim.x) {
    const int t = perm[i / H];
    xs[i] = fromFloat<T>(toFloat(x[size_t(t) * H + i % H]) * score[t]);
  }
}

template <typename T>
__global__ void gatherScaledKernel(T* xs, const T* x, const int32_t* perm, const float* score, int H) {
  const int p = blockIdx.x, t = perm[p];
  const float s = score[t];
  const T* src = x + size_t(t) * H;
  T* dst = xs + size_t(p) * H;
  for (int j = threadIdx.x; j < H; j += blockDim.x) dst[j] = fromFloat<T>(toFloat(src[j]) * s);
}

constexpr auto alignUp = alignScratch;

// The pieces of the scratch block, in order; the accumulators only where the weight-streaming path may run.
struct Scratch {
  size_t expertOf, score, offsets, perm, xs, h, act, accumulators, accumulatorCount, total;
};

bool fewTokens(int dtype, size_t T) { return dtype == kBF16 && T <= kGroupedStreamRows; }

Scratch planScratch(int dtype, size_t T, size_t H, size_t E, size_t I) {
  const size_t element = dtypeBytes(dtype);
  Scratch s{};
  const RoutingTables routing = planRoutingTables(T, E);
  s.expertOf = routing.expertOf, s.score = routing.score, s.offsets = routing.offsets, s.perm = routing.perm;
  size_t at = routing.end;
  s.xs = at; at += alignUp(T * H * element);
  s.h = at; at += alignUp(T * 2 * I * element);
  s.act = at; at += alignUp(T * I * element);
  // gate|up's accumulator [T, 2I], then down's [T, H], contiguous: one range to clear.
  s.accumulatorCount = fewTokens(dtype, T) ? T * (2 * I + H) : 0;
  s.accumulators = at; at += alignUp(s.accumulatorCount * 4);
  s.total = at;
  return s;
}

template <typename T>
std::string run(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp, const void* down,
                size_t tokens, size_t H, size_t E, size_t I, unsigned char* base, const Scratch& s) {
  int32_t* expertOf = reinterpret_cast<int32_t*>(base + s.expertOf);
  float* score = reinterpret_cast<float*>(base + s.score);
  int32_t* offsets = reinterpret_cast<int32_t*>(base + s.offsets);
  int32_t* perm = reinterpret_cast<int32_t*>(base + s.perm);
  T* xs = reinterpret_cast<T*>(base + s.xs);
  T* h = reinterpret_cast<T*>(base + s.h);
  T* act = reinterpret_cast<T*>(base + s.act);
  float* accumulators = s.accumulatorCount > 0 ? reinterpret_cast<float*>(base + s.accumulators) : nullptr;
  const bool fused = fewTokens(dtype, tokens);

  routeKernel<T><<<1, kRouteThreads, 0, stream()>>>(static_cast<const T*>(routerLogits), int(tokens), int(E), expertOf,
    score, offsets, perm, static_cast<const T*>(x), fused ? xs : nullptr, int(H), accumulators, s.accumulatorCount);
  std::string status = launchStatus("moe (route)");
  if (!status.empty()) return status;
  if (!fused) {
    gatherScaledKernel<T><<<unsigned(tokens), 256, 0, stream()>>>(xs, static_cast<const T*>(x), perm, score, int(H));
    status = launchStatus("moe (gather scaled inputs)");
    if (!status.empty()) return status;
  }

  GroupedMatmulArgs g;
  g.dtype = dtype;
  g.offsets = offsets;
  g.rows = tokens;
  g.E = E;
  g.a = xs; g.w = gateUp; g.out = act; g.K = H; g.N = 2 * I;
  g.accumulator = accumulators;
  if (accumulators != nullptr && groupedMatmulStreams(g)) {
    // Few tokens: the product's final pass applies silu(gate) * up itself.
    g.siluMul = true;
    status = groupedMatmul(g);
  } else {
    g.out = h;
    status = groupedMatmul(g);
    if (status.empty()) status = siluAndMul(dtype, act, h, tokens, I);
  }
  if (!status.empty()) return status;
  g.siluMul = false;
  g.a = act; g.w = down; g.out = out; g.rowMap = perm; g.K = I; g.N = H;
  g.accumulator = accumulators != nullptr ? accumulators + tokens * 2 * I : nullptr;
  return groupedMatmul(g);
}

}  // namespace

// ==== launchers ====

std::string moeRoute(int dtype, const void* routerLogits, size_t T, size_t E, int32_t* expertOf, float* score,
                     int32_t* offsets, int32_t* perm) {
  if (E == 0 || E > size_t(kMaxExperts)) return "moe routing: " + std::to_string(E) + " experts (1 .. 1024 supported)";
  if (T > size_t(INT32_MAX)) return "moe routing: too many tokens";
  IRIS_FLOAT_DISPATCH(dtype, S, routeKernel<S><<<1, kRouteThreads, 0, stream()>>>(static_cast<const S*>(routerLogits), int(T),
    int(E), expertOf, score, offsets, perm, nullptr, nullptr, 0, nullptr, 0));
  return launchStatus("moe (route)");
}

size_t moeScratchBytes(int dtype, size_t T, size_t H, size_t E, size_t I) {
  return planScratch(dtype, T, H, E, I).total;
}

std::string moeTop1Sigmoid(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp,
                           const void* down, size_t T, size_t H, size_t E, size_t I, void* scratch, size_t scratchBytes) {
  if (T == 0 || H == 0) return "";
  if (E == 0 || E > size_t(kMaxExperts)) return "moeTop1Sigmoid: " + std::to_string(E) + " experts (1 .. 1024 supported)";
  const Scratch s = planScratch(dtype, T, H, E, I);
  return withExpertScratch("moeTop1Sigmoid", dtype, T, H, I, s.total, scratch, scratchBytes, [&](unsigned char* base) {
    std::string status;
    IRIS_FLOAT_DISPATCH(dtype, S, status = run<S>(dtype, out, x, routerLogits, gateUp, down, T, H, E, I, base, s));
    return status;
  });
}

}  // namespace iris
