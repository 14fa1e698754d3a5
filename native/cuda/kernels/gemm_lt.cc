// linear through cuBLASLt: out[T, N] = x[T, K] · w[N, K]ᵀ + bias[N], the bias added in the epilogue. Row-major
// tensors are column-major transposes, so this is the column-major product outᵀ[N, T] = w[N, K] (stored as a
// K x N column-major matrix, hence op = T) · xᵀ[K, T]; the bias runs along outᵀ's rows, which is what
// CUBLASLT_EPILOGUE_BIAS broadcasts.
//
// Plans. A product of a new token count T must not cost the host a heuristic query, an algorithm check or a new
// kernel's first launch: the offline workload's prompt steps each meet new counts (the decoder's at each step's token
// count, the vision tower's at each picture count, the output head's at the prompts finishing), and the GPU waits
// while the host does that (V8 profile of bench/vlm-offline.ts on the H200, 2215770: 423 ms of the engine thread in
// `linear` over ten prompt steps, ~25 µs a call when nothing is new). So a product runs on its bucket's plan (T
// rounded up to a power of two): descriptors made and the algorithm asked once a bucket (the warm-up,
// src/runner/product-warmup.ts, makes them before the first request and loads their kernels), with the two layouts
// that hold T set to this call's T (a setter, no query). A count met kOwnAfter times gets its own plan, the
// heuristic's choice for that very T; a count whose bucket algorithm cuBLASLt refuses gets it at once.
// The only file that includes cuBLAS.
#include <cublasLt.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "iris_cuda.h"

namespace iris {

namespace {

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;  // null: cuBLASLt has no algorithm for it (remembered, not asked again)
  std::string refusal;                  // why, where desc is null
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  size_t cols = 0;        // the token count its layouts b and c hold now
  bool launched = false;  // for IRIS_CUBLASLT_TRACE
};

// Calls after which a token count served by its bucket's plan gets its own plan (the heuristic's choice for that
// T, and often a kernel no warm-up loaded: 25-100 ms of host time at its first launch): a count met again and again
// (a server's usual prompt lengths, a benchmark's) deserves its best kernel; one met in a step or two (the offline
// run's prefill counts) does not. With buckets alone, the latency benchmark's 351-token prefill took 6.6 ms
// of device time against 5.3 before (H200, d071b73 against 386eafc, another machine of the same kind; the choice
// made at 512 tokens the likely cause). Counted in calls, and a step calls each of a decoder's products once a layer:
// at 3 calls (040cd8a) every new count got its own choice inside its first step (the offline workload's prompt steps
// kept ~105 ms of launch a step after the warm-up, 7e8645d). 108 calls: three steps of a 36-layer model (Qwen2.5-VL-3B), so a repeated prompt length gets its own
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

// IRIS_CUBLASLT_TRACE=1: each new plan's host time on stderr (a bucket's or a count's own), its first launch's, and
// each refusal of a bucket's algorithm, to see where a new shape's first call goes.
const bool tracing = std::getenv("IRIS_CUBLASLT_TRACE") != nullptr;
double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::mutex mutex;
int gemvMode = -1;  // setGemvMode: -1 by the rule in linear(), 0 never, 1 wherever gemvApplies
cublasLtHandle_t handle = nullptr;
void* workspace = nullptr;
std::map<PlanKey, Plan> bucketPlans;  // keyed with T = bucketOf(T)
std::map<PlanKey, Plan> ownPlans;     // keyed with the exact T
std::map<PlanKey, int> callsOnBucket;  // exact T: calls its bucket's plan has served

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

// A plan of `key` with the heuristic's algorithm for key's T; where cuBLASLt has none, a plan without descriptors
// that says why.
Plan makePlan(const PlanKey& key, const char* kind) {
  const auto start = std::chrono::steady_clock::now();
  Plan plan;
  std::string status = describe(key, &plan);
  if (status.empty()) status = askHeuristic(key, plan, &plan.algo);
  if (!status.empty()) release(&plan);
  plan.refusal = status;
  plan.cols = std::get<1>(key);
  if (tracing) {
    const auto [dtype, T, K, N, hasBias, align, fp8] = key;
    std::fprintf(stderr, "cublaslt %s plan%s dtype %d [%zu x %zu] x [%zu x %zu] align %d: %.2f ms%s\n", kind, fp8 ? " fp8" : "",
                 dtype, T, K, N, K, align, millisecondsSince(start), status.empty() ? "" : " (no algorithm)");
  }
  return plan;
}

// Points the layouts that hold the token count (xᵀ: K x T, outᵀ: N x T) at `cols`; setters, no query.
std::string resize(Plan* plan, size_t cols) {
  if (plan->cols == cols) return "";
  const uint64_t columns = cols;
  std::string s = blasStatus(cublasLtMatrixLayoutSetAttribute(plan->b, CUBLASLT_MATRIX_LAYOUT_COLS, &columns, sizeof(columns)),
                             "layout B columns");
  if (s.empty()) {
    s = blasStatus(cublasLtMatrixLayoutSetAttribute(plan->c, CUBLASLT_MATRIX_LAYOUT_COLS, &columns, sizeof(columns)),
                   "layout C columns");
  }
  plan->cols = s.empty() ? cols : 0;  // 0: unknown, set again next time
  return s;
}

std::string shapeName(const PlanKey& key) {
  const auto [dtype, T, K, N, hasBias, align, fp8] = key;
  return std::string(fp8 ? "fp8 " : "") + "linear [" + std::to_string(T) + "x" + std::to_string(K) + "] x [" +
         std::to_string(N) + "x" + std::to_string(K) + "]ᵀ";
}

// `plan` where it can run, else null with the reason cuBLASLt gave.
Plan* usable(const PlanKey& key, Plan& plan, std::string* status) {
  if (plan.desc != nullptr) return &plan;
  *status = shapeName(key) + ": " + plan.refusal;
  return nullptr;
}

// The exact-T plan of `key`, made now if new; null with the reason where cuBLASLt has no algorithm for it.
Plan* ownPlanFor(const PlanKey& key, std::string* status) {
  auto it = ownPlans.find(key);
  if (it == ownPlans.end()) it = ownPlans.emplace(key, makePlan(key, "own")).first;
  return usable(key, it->second, status);
}

// The plan that runs `key` now, its layouts at key's T: the exact T's own plan where it has one (or its bucket has no
// algorithm), else its bucket's; null with the reason.
Plan* planFor(const PlanKey& key, std::string* status) {
  if (handle == nullptr) {
    *status = blasStatus(cublasLtCreate(&handle), "cublasLtCreate");
    if (status->empty()) *status = cudaStatus(cudaMalloc(&workspace, kWorkspaceBytes), "cudaMalloc (cuBLASLt workspace)");
    if (!status->empty()) return nullptr;
  }
  const auto own = ownPlans.find(key);
  if (own != ownPlans.end()) return usable(key, own->second, status);
  PlanKey bucketKey = key;
  std::get<1>(bucketKey) = bucketOf(std::get<1>(key));
  auto it = bucketPlans.find(bucketKey);
  if (it == bucketPlans.end()) it = bucketPlans.emplace(bucketKey, makePlan(bucketKey, "bucket")).first;
  Plan& bucket = it->second;
  if (bucket.desc == nullptr || ++callsOnBucket[key] >= kOwnAfter) {
    callsOnBucket.erase(key);
    return ownPlanFor(key, status);
  }
  *status = resize(&bucket, std::get<1>(key));
  return status->empty() ? &bucket : nullptr;
}

// Enqueues the product on `plan`; where the bucket's algorithm refuses this T (cuBLASLt checks the algorithm against
// the problem at each call), once more on the exact T's own plan.
std::string runPlan(const PlanKey& key, Plan* plan, const void* bias, void* out, const void* x, const void* w, const char* what) {
  for (int attempt = 0;; attempt++) {
    std::string s;
    if (bias != nullptr) {
      s = blasStatus(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
                     "BIAS_POINTER");
      if (!s.empty()) return s;
    }
    const float one = 1.f, zero = 0.f;
    const auto start = std::chrono::steady_clock::now();
    s = blasStatus(cublasLtMatmul(handle, plan->desc, &one, w, plan->a, x, plan->b, &zero, out, plan->c, out, plan->c,
                                  &plan->algo, workspace, kWorkspaceBytes, stream()),
                   what);
    if (tracing && !plan->launched) {
      std::fprintf(stderr, "cublaslt first launch %s: %.2f ms\n", shapeName(key).c_str(), millisecondsSince(start));
    }
    plan->launched = true;
    if (s.empty()) return launchStatus(what);
    const bool onBucket = ownPlans.count(key) == 0;
    if (!onBucket || attempt > 0) return s;
    if (tracing) std::fprintf(stderr, "cublaslt bucket algorithm refused %s: %s\n", shapeName(key).c_str(), s.c_str());
    std::string status;
    plan = ownPlanFor(key, &status);
    if (plan == nullptr) return status;
  }
}

}  // namespace

void setGemvMode(int mode) {
  gemvMode = mode == 0 || mode == 1 ? mode : -1;
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

bool skinnyFusions(int dtype, size_t T, size_t K) {
  return gemvMode != 0 && dtype == kBF16 && T >= 1 && T <= 2 && K > 0 && K % 8 == 0 && K <= kGemvNormMaxK;
}

bool rmsNormLinear(int dtype, void* out, const void* x, const void* normWeight, float eps, const void* w, const void* bias,
                   size_t T, size_t K, size_t N, bool gated, std::string* status) {
  // The norm's weights go in 16-byte loads too.
  const bool aligned = reinterpret_cast<uintptr_t>(normWeight) % 16 == 0;
  if (T == 0 || N == 0 || K > kGemvNormMaxK || !aligned || !gemvServes(dtype, out, x, w, T, K, gated ? 2 * N : N)) return false;
  *status = gemvNorm(out, x, normWeight, eps, w, bias, T, K, N, gated);
  return true;
}

bool linearAddResidual(int dtype, void* residual, const void* x, const void* w, const void* bias, size_t T, size_t K,
                       size_t N, std::string* status) {
  if (T == 0 || N == 0 || !gemvServes(dtype, residual, x, w, T, K, N)) return false;
  *status = gemvAddResidual(residual, x, w, bias, T, K, N);
  return true;
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
  const PlanKey key{dtype, T, K, N, bias != nullptr, alignmentOf({out, x, w, bias}), false};
  Plan* plan = planFor(key, &status);
  if (plan == nullptr) return status;
  return runPlan(key, plan, bias, out, x, w, "cublasLtMatmul");
}

std::string fp8GemmLt(int outDtype, void* raw, const void* x, const void* w, size_t T, size_t K, size_t N) {
  // cuBLASLt's FP8 products take K in multiples of 16 and 16-byte aligned operands (its "TN" layout is ours).
  const int align = alignmentOf({raw, x, w});
  if (K % 16 != 0 || align < 16) return "fp8 linear: K a multiple of 16 and 16-byte aligned operands needed";
  // Raw sums of FP8 values reach 448² x K (1e9 at K = 5120): bf16 and fp32 hold them, half would overflow.
  if (outDtype != kBF16 && outDtype != kF32) return "fp8 linear: raw sums only in bf16 or fp32";
  std::lock_guard<std::mutex> lock(mutex);
  std::string status;
  const PlanKey key{outDtype, T, K, N, false, align, true};
  Plan* plan = planFor(key, &status);
  if (plan == nullptr) return status;
  return runPlan(key, plan, nullptr, raw, x, w, "cublasLtMatmul (fp8)");
}

}  // namespace iris
