// The matrix product of the cpu backend: y[T, N] = x[T, K] · w[N, K]ᵀ + bias[N], float32, row-major (nn.Linear's
// weight layout), y never overlapping the inputs.
//
// Three code paths of one body (gemm_cpu_body.inc), chosen at run time by what the CPU supports, so the library
// built on any x86-64 machine loads on any other: AVX-512 (16 floats a vector, 4x4 tiles), AVX2 + FMA (8 floats,
// 2x4 tiles) and a portable path (4 floats, GCC vector extensions: SSE2 on x86-64, NEON on arm64). The file itself
// is compiled for the baseline ISA; only the two regions below are compiled for more, under target pragmas, and they
// run only after cpuIsaSupported() said yes.
//
// Threads split y into jobs (column blocks of w rows, then row blocks of x when there are too few column blocks)
// run by a persistent pool; every job covers the whole k range, so jobs write disjoint parts of y and need no
// reduction. Products under a megaflop run on the caller alone, where the hand-off costs as much as it saves.

#include "gemm_cpu.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

#include "thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace iris {
namespace {

struct Problem {
  float* y;
  const float* x;
  const float* w;
  const float* bias;
  size_t T, K, N;
};

// A k block: a 4x4 tile reads 4 x rows and 4 w rows of kKC floats, 32 KB, inside a 48 KB L1 (Zen 4/5, recent Intel).
constexpr size_t kKC = 1024;
// w rows per block: 128 rows x 4 KB = 512 KB, half of a 1 MB L2, so it stays there while row groups pass over it.
constexpr size_t kNB = 128;
// x rows of one k block up to this size stay in L2 while w streams past them once (see gemmBlock).
constexpr size_t kXPanelBytes = 256 * 1024;
// Software prefetch distance along a w row streamed from memory: 8 KB, two pages ahead.
constexpr size_t kPrefetchFloats = 2048;
// Measured break-even of two threads against one on products in cache (8x64x1024: equal; 2 MFLOP: 15-40% faster).
constexpr double kSerialFlops = 1 << 20;
constexpr int kMaxThreads = 16;

// ==== kernels ====

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
namespace avx512 {
#define IRIS_VW 16
#define IRIS_RM 4
#define IRIS_RN 4
#define IRIS_C1 8
#define IRIS_U1 2
#define IRIS_C2 8
#define IRIS_U2 1
#define IRIS_LOAD_PARTIAL(p, n) (V) _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n)) - 1), (p))
#include "gemm_cpu_body.inc"
#undef IRIS_VW
#undef IRIS_RM
#undef IRIS_RN
#undef IRIS_C1
#undef IRIS_U1
#undef IRIS_C2
#undef IRIS_U2
#undef IRIS_LOAD_PARTIAL
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
static inline __m256 loadPartial(const float* p, size_t n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes));
}
#define IRIS_VW 8
#define IRIS_RM 2
#define IRIS_RN 4
#define IRIS_C1 8
#define IRIS_U1 1
#define IRIS_C2 4
#define IRIS_U2 1
#define IRIS_LOAD_PARTIAL(p, n) (V) loadPartial((p), (n))
#include "gemm_cpu_body.inc"
#undef IRIS_VW
#undef IRIS_RM
#undef IRIS_RN
#undef IRIS_C1
#undef IRIS_U1
#undef IRIS_C2
#undef IRIS_U2
#undef IRIS_LOAD_PARTIAL
}  // namespace avx2
#pragma GCC pop_options
#endif

namespace portable {
#define IRIS_VW 4
#define IRIS_RM 2
#define IRIS_RN 4
#define IRIS_C1 8
#define IRIS_U1 1
#define IRIS_C2 4
#define IRIS_U2 1
#define IRIS_LOAD_PARTIAL(p, n) loadPartial((p), (n))
typedef float V4 __attribute__((vector_size(16)));
static inline V4 loadPartial(const float* p, size_t n) {
  V4 v = {};
  for (size_t i = 0; i < n; i++) v[i] = p[i];
  return v;
}
#include "gemm_cpu_body.inc"
#undef IRIS_VW
#undef IRIS_RM
#undef IRIS_RN
#undef IRIS_C1
#undef IRIS_U1
#undef IRIS_C2
#undef IRIS_U2
#undef IRIS_LOAD_PARTIAL
}  // namespace portable

// ==== launcher ====

using BlockFn = void (*)(const Problem&, size_t, size_t, size_t, size_t);

BlockFn blockFn(CpuIsa isa) {
  switch (isa) {
#if defined(__x86_64__)
    case CpuIsa::kAvx512: return avx512::gemmBlock;
    case CpuIsa::kAvx2: return avx2::gemmBlock;
#endif
    default: return portable::gemmBlock;
  }
}

CpuIsa bestIsa() {
  for (int i = 0; i < kCpuIsaCount; i++) {
    if (cpuIsaSupported(static_cast<CpuIsa>(i))) return static_cast<CpuIsa>(i);
  }
  return CpuIsa::kPortable;
}

// Cores this process may run on: its affinity mask, capped by a cgroup v2 CPU quota (containers), then kMaxThreads.
int availableCores() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  std::ifstream cpuMax("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long long period = 0;
  if (cpuMax >> quota >> period && quota != "max" && period > 0) {
    const long long q = std::atoll(quota.c_str());
    if (q > 0) n = std::min<long long>(n, (q + period - 1) / period);
  }
#endif
  return std::clamp(n, 1, kMaxThreads);
}

std::atomic<int>& isaSetting() {
  static std::atomic<int> isa{static_cast<int>(bestIsa())};
  return isa;
}

std::atomic<int>& threadSetting() {
  static std::atomic<int> threads{availableCores()};
  return threads;
}

// Created on the first threaded product and never destroyed (see ThreadPool's destructor).
ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool(cpuMaxThreads() - 1);
  return *p;
}

size_t ceilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// Jobs: about 4 per thread, so a thread slowed by a neighbour on a shared machine holds up at most a small job. Column
// blocks of w rows first (multiples of 16, the widest tile; large, so each thread streams w sequentially), then row
// blocks of x (multiples of 4) when there are too few columns.
struct Split {
  size_t nChunk, nJobs, tChunk, tJobs;
};

Split split(size_t T, size_t N, int threads) {
  const size_t want = 4 * static_cast<size_t>(threads);
  Split s{};
  s.nChunk = ceilDiv(ceilDiv(N, want), 16) * 16;
  s.nJobs = ceilDiv(N, s.nChunk);
  s.tChunk = T;
  s.tJobs = 1;
  if (s.nJobs < want && T > 4) {
    const size_t tJobs = std::min(ceilDiv(want, s.nJobs), ceilDiv(T, 4));
    s.tChunk = ceilDiv(ceilDiv(T, tJobs), 4) * 4;
    s.tJobs = ceilDiv(T, s.tChunk);
  }
  return s;
}

struct LaunchContext {
  Problem p;
  BlockFn block;
  Split s;
};

void runJob(void* ctx, int job) {
  const auto& c = *static_cast<const LaunchContext*>(ctx);
  // Consecutive jobs share a column block, and each thread runs a contiguous range of jobs (ThreadPool).
  const size_t nIndex = job / c.s.tJobs, tIndex = job % c.s.tJobs;
  const size_t n0 = nIndex * c.s.nChunk, t0 = tIndex * c.s.tChunk;
  c.block(c.p, t0, std::min(c.p.T, t0 + c.s.tChunk), n0, std::min(c.p.N, n0 + c.s.nChunk));
}

}  // namespace

const char* cpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512: return "avx512";
    case CpuIsa::kAvx2: return "avx2";
    default: return "portable";
  }
}

bool cpuIsaSupported(CpuIsa isa) {
#if defined(__x86_64__)
  // libgcc's checks include the OS's support for the wider registers (XCR0), not only the CPUID bits.
  __builtin_cpu_init();
  switch (isa) {
    case CpuIsa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CpuIsa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return true;
  }
#else
  return isa == CpuIsa::kPortable;
#endif
}

CpuIsa cpuIsa() { return static_cast<CpuIsa>(isaSetting().load(std::memory_order_relaxed)); }
void setCpuIsa(CpuIsa isa) { isaSetting().store(static_cast<int>(isa), std::memory_order_relaxed); }

int cpuThreads() { return threadSetting().load(std::memory_order_relaxed); }
int cpuMaxThreads() {
  static const int n = availableCores();
  return n;
}
void setCpuThreads(int threads) {
  threadSetting().store(std::clamp(threads, 1, cpuMaxThreads()), std::memory_order_relaxed);
}

void linearF32(float* y, const float* x, const float* w, const float* bias, size_t T, size_t K, size_t N) {
  if (T == 0 || N == 0) return;
  const Problem p{y, x, w, bias, T, K, N};
  const BlockFn block = blockFn(cpuIsa());
  const int threads = cpuThreads();
  if (threads <= 1 || 2.0 * T * N * K < kSerialFlops) {
    block(p, 0, T, 0, N);
    return;
  }
  LaunchContext ctx{p, block, split(T, N, threads)};
  const int jobs = static_cast<int>(ctx.s.nJobs * ctx.s.tJobs);
  if (!pool().tryRun(jobs, threads - 1, runJob, &ctx)) block(p, 0, T, 0, N);  // another worker holds the pool
}

}  // namespace iris
