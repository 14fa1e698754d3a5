// linear through cuBLASLt: out[T, N] = x[T, K] · w[N, K]ᵀ + bias[N], the bias added in the epilogue. Row-major
// tensors are column-major transposes, so this is the column-major product outᵀ[N, T] = w[N, K] (stored as a
// K x N column-major matrix, hence op = T) · xᵀ[K, T]; the bias runs along outᵀ's rows, which is what
// CUBLASLT_EPILOGUE_BIAS broadcasts. Descriptors are cached per shape, dtype and pointer alignment, so a step loop
// asks the heuristic nothing. The algorithm is chosen once per bucket of token counts (T rounded up to a power of
// two) and checked (cublasLtMatmulAlgoCheck) for each T it serves, until that T has been met in about three steps,
// when it asks the heuristic for T itself (kOwnAfter): the offline workload's prefill steps each meet new counts (the
// output head at 1..128 finishing prompts, the vision tower at each picture count), and a first product of a new
// shape cost 5-115 ms of host time on the H200 (V8 profile of bench/vlm-offline.ts: 1.1 s of the engine thread's
// 1.4 s launching ten prompt steps). The only file that includes cuBLAS.
//
// fp8GemmLt: the same product with A and B in FP8 E4M3 (weights and per-token quantized activations), fp32
// accumulation, the raw sums written in the output's dtype; linearFp8 (fp8_linear.cu) applies the scales after. An
// FP8 plan the heuristic refuses is remembered as refused, so the caller's fallback costs no second query.
#include <cublasLt.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>

#include "iris_cuda.h"

namespace iris {

namespace {

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool own = false;        // the algorithm is the heuristic's for this very shape (not its bucket's)
  int uses = 0;            // calls so far, while the bucket's algorithm serves
  bool launched = false;   // for IRIS_CUBLASLT_TRACE
};

// Calls after which a shape served by its bucket's algorithm gets the heuristic's own choice: a shape met again
// and again (a server's usual prompt lengths, a benchmark's) deserves its best kernel; one met in a step or two (the
// offline run's prefill counts) does not. With buckets alone, the latency benchmark's 351-token prefill took 6.6 ms
// of device time against 5.3 before (H200, d071b73 against 386eafc, another machine of the same kind; the choice
// made at 512 tokens the likely cause). Counted in calls, and a step calls each of a decoder's products once a layer:
// at 3 calls (040cd8a) every new count got its own choice inside its first step, often a kernel no warm-up had
// loaded (src/runner/product-warmup.ts warms the buckets' algorithms), whose first launch costs 25-100 ms of host
// time while the device waits (the offline workload's prompt steps kept ~105 ms of launch a step after the warm-up,
// 7e8645d). 108 calls: three steps of a 36-layer model (Qwen2.5-VL-3B), so a repeated prompt length gets its own
// kernel from its third step on. Not yet measured as a rule.
constexpr int kOwnAfter = 108;

// dtype (of C and D), T, K, N, bias, alignment, FP8 inputs.
using PlanKey = std::tuple<int, size_t, size_t, size_t, bool, int, bool>;

// The token counts one heuristic query serves: T rounded up to a power of two.
size_t bucketOf(size_t T) {
  size_t bucket = 1;
  while (bucket < T) bucket *= 2;
  return bucket;
}

// IRIS_CUBLASLT_TRACE=1: each new plan's host time on stderr (the heuristic at its bucket, the check, its own
// heuristic where the check refused, its first product's launch), to see where a new shape's first call goes.
const bool tracing = std::getenv("IRIS_CUBLASLT_TRACE") != nullptr;
double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::mutex mutex;
int gemvMode = -1;  // setGemvMode: -1 by the rule in linear(), 0 never, 1 wherever gemvApplies
cublasLtHandle_t handle = nullptr;
void* workspace = nullptr;
std::map<PlanKey, Plan> plans;
std::map<PlanKey, cublasLtMatmulAlgo_t> bucketAlgos;  // keyed with T = bucketOf(T); absent where the heuristic refused

std::string blasStatus(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return "";
  return std::string(what) + ": cuBLASLt status " + std::to_string(int(status)) + " (" + cublasLtGetStatusString(status) + ")";
}

// The largest power of two, at most 256, dividing every pointer: the heuristic must not pick an algorithm that
// needs more alignment than a view at an odd offset has.
int alignmentOf(std::initializer_list<const void*> pointers) {
  int align = 256;
  for (const void* p : pointers) {
    if (p == nullptr) continue;
    const uintptr_t v = reinterpret_cast<uintptr_t>(p);
    while (align > 1 && v % align != 0) align /= 2;
  }
  return align;
}

// The descriptors of `key`: the operation (transposes, bias epilogue) and the three matrix layouts.
std::string describe(const PlanKey& key, Plan* plan) {
  const auto [dtype, T, K, N, hasBias, align, fp8] = key;
  const cudaDataType_t type = dtype == kF32 ? CUDA_R_32F : dtype == kF16 ? CUDA_R_16F : CUDA_R_16BF;
  const cudaDataType_t inputs = fp8 ? CUDA_R_8F_E4M3 : type;
  std::string s = blasStatus(cublasLtMatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  const cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
  if (s.empty()) s = blasStatus(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof(opT)), "TRANSA");
  if (s.empty()) s = blasStatus(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof(opN)), "TRANSB");
  if (s.empty() && hasBias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    s = blasStatus(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)), "EPILOGUE");
    if (s.empty()) {
      s = blasStatus(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &type, sizeof(type)),
                     "BIAS_DATA_TYPE");
    }
  }
  if (s.empty()) s = blasStatus(cublasLtMatrixLayoutCreate(&plan->a, inputs, K, N, K), "layout A");
  if (s.empty()) s = blasStatus(cublasLtMatrixLayoutCreate(&plan->b, inputs, K, T, K), "layout B");
  if (s.empty()) s = blasStatus(cublasLtMatrixLayoutCreate(&plan->c, type, N, T, N), "layout C");
  return s;
}

void release(Plan* plan) {
  if (plan->a != nullptr) cublasLtMatrixLayoutDestroy(plan->a);
  if (plan->b != nullptr) cublasLtMatrixLayoutDestroy(plan->b);
  if (plan->c != nullptr) cublasLtMatrixLayoutDestroy(plan->c);
  if (plan->desc != nullptr) cublasLtMatmulDescDestroy(plan->desc);
  *plan = Plan{};
}

// The heuristic's first choice for the described product, or why there is none.
std::string askHeuristic(const PlanKey& key, const Plan& plan, cublasLtMatmulAlgo_t* algo) {
  const int align = std::get<5>(key);
  cublasLtMatmulPreference_t pref = nullptr;
  std::string s = blasStatus(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  if (!s.empty()) return s;
  const uint32_t alignBytes = uint32_t(align);
  const uint64_t workspaceBytes = kWorkspaceBytes;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspaceBytes, sizeof(workspaceBytes));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alignBytes, sizeof(alignBytes));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alignBytes, sizeof(alignBytes));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alignBytes, sizeof(alignBytes));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alignBytes, sizeof(alignBytes));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  s = blasStatus(cublasLtMatmulAlgoGetHeuristic(handle, plan.desc, plan.a, plan.b, plan.c, plan.c, pref, 1, &result, &found),
                 "cublasLtMatmulAlgoGetHeuristic");
  if (s.empty() && found == 0) s = "cublasLtMatmulAlgoGetHeuristic: no algorithm for this product";
  if (s.empty()) *algo = result.algo;
  cublasLtMatmulPreferenceDestroy(pref);
  return s;
}

// Whether `algo` runs the described product (the bucket's choice, made for a larger T).
bool serves(const Plan& plan, const cublasLtMatmulAlgo_t& algo) {
  cublasLtMatmulHeuristicResult_t result{};
  return cublasLtMatmulAlgoCheck(handle, plan.desc, plan.a, plan.b, plan.c, plan.c, &algo, &result) == CUBLAS_STATUS_SUCCESS &&
         result.workspaceSize <= kWorkspaceBytes;
}

// The descriptors of `key` and its algorithm: its bucket's (asked once a bucket, at the bucket's T), else its own.
std::string makePlan(const PlanKey& key, Plan* plan) {
  std::string s = describe(key, plan);
  if (!s.empty()) return s;
  PlanKey bucketKey = key;
  std::get<1>(bucketKey) = bucketOf(std::get<1>(key));
  const auto start = std::chrono::steady_clock::now();
  double bucketMs = 0, checkMs = 0;
  auto it = bucketAlgos.find(bucketKey);
  if (it == bucketAlgos.end()) {
    Plan atBucket;
    cublasLtMatmulAlgo_t algo{};
    if (describe(bucketKey, &atBucket).empty() && askHeuristic(bucketKey, atBucket, &algo).empty()) {
      it = bucketAlgos.emplace(bucketKey, algo).first;
    }
    release(&atBucket);
    bucketMs = millisecondsSince(start);
  }
  const bool shared = it != bucketAlgos.end() && serves(*plan, it->second);
  checkMs = millisecondsSince(start) - bucketMs;
  if (shared) plan->algo = it->second;
  plan->own = !shared;
  const std::string status = shared ? "" : askHeuristic(key, *plan, &plan->algo);
  if (tracing) {
    const auto [dtype, T, K, N, hasBias, align, fp8] = key;
    std::fprintf(stderr, "cublaslt plan%s dtype %d [%zu x %zu] x [%zu x %zu]: bucket %zu heuristic %.2f ms, check %.2f ms, %s %.2f ms\n",
                 fp8 ? " fp8" : "", dtype, T, K, N, K, std::get<1>(bucketKey), bucketMs, checkMs,
                 shared ? "shared" : "own heuristic", millisecondsSince(start) - bucketMs - checkMs);
  }
  return status;
}

}  // namespace

void setGemvMode(int mode) {
  gemvMode = mode == 0 || mode == 1 ? mode : -1;
}

// The handle and workspace on first use, then the cached plan of `key` (made now if new); null with the reason.
Plan* planFor(const PlanKey& key, std::string* status) {
  if (handle == nullptr) {
    *status = blasStatus(cublasLtCreate(&handle), "cublasLtCreate");
    if (status->empty()) *status = cudaStatus(cudaMalloc(&workspace, kWorkspaceBytes), "cudaMalloc (cuBLASLt workspace)");
    if (!status->empty()) return nullptr;
  }
  auto it = plans.find(key);
  if (it == plans.end()) {
    Plan plan;
    const std::string s = makePlan(key, &plan);
    const auto [dtype, T, K, N, hasBias, align, fp8] = key;
    if (!s.empty()) {
      *status = std::string(fp8 ? "fp8 " : "") + "linear [" + std::to_string(T) + "x" + std::to_string(K) + "] x [" +
                std::to_string(N) + "x" + std::to_string(K) + "]ᵀ: " + s;
      if (!fp8) return nullptr;
      plan.desc = nullptr;  // remembered as refused
    }
    it = plans.emplace(key, plan).first;
  }
  Plan& plan = it->second;
  if (plan.desc == nullptr) {
    if (status->empty()) *status = "fp8 linear: no cuBLASLt algorithm for this shape";
    return nullptr;
  }
  if (!plan.own && ++plan.uses >= kOwnAfter) {
    const auto start = std::chrono::steady_clock::now();
    cublasLtMatmulAlgo_t algo{};
    if (askHeuristic(key, plan, &algo).empty()) plan.algo = algo;  // else the bucket's, which runs it, stays
    plan.own = true;
    if (tracing) std::fprintf(stderr, "cublaslt own heuristic after %d calls [%zu x %zu]: %.2f ms\n", kOwnAfter,
                              std::get<1>(key), std::get<2>(key), millisecondsSince(start));
  }
  return &plan;
}

// Whether the gemv kernel takes a product of N output rows: where it applies (gemvApplies) and the rule agrees. An
// output head's product (N ~ 150k rows, 0.6 GB) streams as fast through cuBLASLt as it can go, and its one launch's
// ramp is nothing beside 150 µs: measured on the H200 at [1 x 2048] x [151936 x 2048], cuBLASLt 149.3 µs (4.17 TB/s)
// against the gemv kernel's 162.4 (bench/kernels-cuda.ts).
bool gemvServes(int dtype, const void* out, const void* x, const void* w, size_t T, size_t K, size_t N) {
  constexpr size_t kGemvMaxN = 65536;
  const bool byRule = gemvMode == 1 || (gemvMode == -1 && N <= kGemvMaxN);
  return byRule && gemvApplies(dtype, out, x, w, T, K);
}

bool linearSiluAndMulFuses(int dtype, const void* out, const void* x, const void* w, size_t T, size_t K, size_t I) {
  return I > 0 && gemvServes(dtype, out, x, w, T, K, 2 * I);
}

std::string linearSiluAndMul(int dtype, void* out, const void* x, const void* w, const void* bias, size_t T, size_t K,
                             size_t I) {
  if (T == 0 || I == 0) return "";
  if (!linearSiluAndMulFuses(dtype, out, x, w, T, K, I)) return "linearSiluAndMul: no fused kernel for these operands";
  return gemvSiluAndMul(out, x, w, bias, T, K, I);
}

std::string linear(int dtype, void* out, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t N) {
  if (T == 0 || N == 0) return "";
  if (K == 0) {  // an empty sum: out is the bias (or zeros)
    std::string s = fill(dtype, out, T * N, 0.0);
    return s.empty() && bias != nullptr ? add(dtype, out, out, bias, T * N, N) : s;
  }
  if (gemvServes(dtype, out, x, w, T, K, N)) return gemv(out, x, w, bias, T, K, N);
  std::lock_guard<std::mutex> lock(mutex);
  std::string status;
  Plan* found = planFor(PlanKey{dtype, T, K, N, bias != nullptr, alignmentOf({out, x, w, bias}), false}, &status);
  if (found == nullptr) return status;
  Plan& plan = *found;
  if (bias != nullptr) {
    std::string s = blasStatus(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
                               "BIAS_POINTER");
    if (!s.empty()) return s;
  }
  const float one = 1.f, zero = 0.f;
  const auto start = std::chrono::steady_clock::now();
  std::string s = blasStatus(cublasLtMatmul(handle, plan.desc, &one, w, plan.a, x, plan.b, &zero, out, plan.c, out, plan.c,
                                            &plan.algo, workspace, kWorkspaceBytes, stream()),
                             "cublasLtMatmul");
  if (tracing && !plan.launched) std::fprintf(stderr, "cublaslt first launch [%zu x %zu] x [%zu x %zu]: %.2f ms\n", T, K, N, K, millisecondsSince(start));
  plan.launched = true;
  if (!s.empty()) return s;
  return launchStatus("linear");
}

std::string fp8GemmLt(int outDtype, void* raw, const void* x, const void* w, size_t T, size_t K, size_t N) {
  // cuBLASLt's FP8 products take K in multiples of 16 and 16-byte aligned operands (its "TN" layout is ours).
  const int align = alignmentOf({raw, x, w});
  if (K % 16 != 0 || align < 16) return "fp8 linear: K a multiple of 16 and 16-byte aligned operands needed";
  // Raw sums of FP8 values reach 448² x K (1e9 at K = 5120): bf16 and fp32 hold them, half would overflow.
  if (outDtype != kBF16 && outDtype != kF32) return "fp8 linear: raw sums only in bf16 or fp32";
  std::lock_guard<std::mutex> lock(mutex);
  std::string status;
  Plan* plan = planFor(PlanKey{outDtype, T, K, N, false, align, true}, &status);
  if (plan == nullptr) return status;
  const float one = 1.f, zero = 0.f;
  status = blasStatus(cublasLtMatmul(handle, plan->desc, &one, w, plan->a, x, plan->b, &zero, raw, plan->c, raw, plan->c,
                                     &plan->algo, workspace, kWorkspaceBytes, stream()),
                      "cublasLtMatmul (fp8)");
  return status.empty() ? launchStatus("fp8 linear") : status;
}

}  // namespace iris
