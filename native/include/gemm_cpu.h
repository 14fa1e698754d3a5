// The host entry of the cpu matrix product (native/kernels/gemm_cpu.cc) as the addon sees it: plain pointers and
// sizes that the addon has already checked, and the settings the addon exposes (instruction set, threads).
#pragma once

#include <cstddef>

namespace iris {

// The code paths of the kernel, best first. Only paths the running CPU (and OS) supports can be selected.
enum class CpuIsa { kAvx512 = 0, kAvx2 = 1, kPortable = 2 };
constexpr int kCpuIsaCount = 3;

const char* cpuIsaName(CpuIsa isa);
bool cpuIsaSupported(CpuIsa isa);
CpuIsa cpuIsa();
void setCpuIsa(CpuIsa isa);  // precondition: cpuIsaSupported(isa)

// Threads a product may use (the caller included): at least 1, at most cpuMaxThreads().
int cpuThreads();
int cpuMaxThreads();
void setCpuThreads(int threads);

// y[T, N] = x[T, K] · w[N, K]ᵀ (+ bias[N] when bias is non-null); all row-major and contiguous, y not overlapping
// the inputs. Blocks until y is written.
void linearF32(float* y, const float* x, const float* w, const float* bias, size_t T, size_t K, size_t N);

}  // namespace iris
