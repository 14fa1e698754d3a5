// Warp-level tensor-core building blocks for attention_mma.cu and fp8_grouped_mma.cu: the PTX of mma.m16n8k16 (bf16
// in, fp32 accumulate) and mma.m16n8k32 (E4M3 in, fp32 accumulate), ldmatrix and cp.async, and the lane -> element
// maps that decide which shared-memory rows each lane points ldmatrix at and which (row, column) of a tile each
// accumulator register holds.
//
// The maps compile as plain C++ too (IRIS_HD is empty outside nvcc), so tests/cuda/mma-fragments.cu checks them on
// the cpu against an emulation of the PTX ISA's fragment tables: a wrong map gives plausible-looking garbage that
// only a GPU would reveal.
//
// PTX ISA facts used (m16n8k16, .bf16, A row-major, B column-major; g = lane / 4, t = lane % 4):
//   A (16x16): a0 = (g, 2t..2t+1), a1 = (g+8, 2t..2t+1), a2 = (g, 2t+8..2t+9), a3 = (g+8, 2t+8..2t+9)
//   B (16x8):  b0 = (k 2t..2t+1, n g), b1 = (k 2t+8..2t+9, n g)
//   C (16x8, fp32): c0, c1 = (g, 2t), (g, 2t+1); c2, c3 = (g+8, 2t), (g+8, 2t+1)
//   The lower column (A) or lower k (B) of a packed pair sits in the low 16 bits.
// (m16n8k32, .e4m3: four 8-bit k values a register where .bf16 has two, the lowest k in the lowest byte:
//   a0 = (g, 4t..4t+3), a1 = (g+8, 4t..4t+3), a2 = (g, 4t+16..4t+19), a3 = (g+8, 4t+16..4t+19);
//   b0 = (k 4t..4t+3, n g), b1 = (k 4t+16..4t+19, n g); C as above. A b16 pair of ldmatrix is 4 such bytes, so
//   ldmatrix over rows of bytes loads these fragments with the same lane maps, columns counted in pairs.)
//   ldmatrix .x4: lanes 8m..8m+7 give the row addresses of 8x8 matrix m; register m of lane L receives the pair at
//   (row L/4, columns 2(L%4)..+1) of matrix m, or with .trans the pair (rows 2(L%4)..+1, column L/4).
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#include <cuda_bf16.h>
#define IRIS_HD __host__ __device__
#else
#define IRIS_HD
#endif

namespace iris::mma {

// ==== lane maps ====

// Q tile as the A operand (rows = queries, columns = head dims 16kk..16kk+15): ldmatrix .x4 matrices are
// {rows 0-7, cols 0-7} = a0, {rows 8-15, cols 0-7} = a1, {rows 0-7, cols 8-15} = a2, {rows 8-15, cols 8-15} = a3.
IRIS_HD constexpr int aRow(int lane) { return lane % 16; }
IRIS_HD constexpr int aCol(int lane) { return lane / 16 * 8; }

// K tile as the B operand of S = Q K^T for two n-tiles of 8 keys (K stored [key][dim] is B stored column-major):
// matrices {keys 0-7, dims 0-7} = b0 and {keys 0-7, dims 8-15} = b1 of the first n-tile, then the same for keys 8-15.
IRIS_HD constexpr int kRow(int lane) { return lane / 16 * 8 + lane % 8; }
IRIS_HD constexpr int kCol(int lane) { return lane / 8 % 2 * 8; }

// V tile as the B operand of O = P V (B[k = key][n = dim], V stored [key][dim], so ldmatrix .trans) for one k-step
// of 16 keys and two n-tiles of 8 dims: matrices {keys 0-7, dims 0-7} = b0, {keys 8-15, dims 0-7} = b1 of the first
// n-tile, then the same for dims 8-15.
IRIS_HD constexpr int vRow(int lane) { return lane % 16; }
IRIS_HD constexpr int vCol(int lane) { return lane / 16 * 8; }

// The transposed products of decode attention on the tensor cores (attention_decode_mma.cu), where keys are the M rows
// and a KV head's q heads the N columns. K tile as the A operand of S^T = K Q^T (K stored [key][dim] is A row-major):
// the Q maps above, rows = keys. V^T as the A operand of O^T = V^T P^T for 16 dims and one k-step of 16 keys (V stored
// [key][dim], so ldmatrix .trans): matrices {keys 0-7, dims 0-7} = a0 (dims 0-7 are A's rows 0-7), {keys 0-7,
// dims 8-15} = a1, {keys 8-15, dims 0-7} = a2, {keys 8-15, dims 8-15} = a3: the K maps of S = Q K^T above.
IRIS_HD constexpr int vtRow(int lane) { return kRow(lane); }
IRIS_HD constexpr int vtCol(int lane) { return kCol(lane); }

// The element accumulator register e (0..3) of `lane` holds in a 16x8 C tile.
IRIS_HD constexpr int accRow(int lane, int e) { return lane / 4 + e / 2 * 8; }
IRIS_HD constexpr int accCol(int lane, int e) { return lane % 4 * 2 + e % 2; }

// ==== packing ====

IRIS_HD inline uint32_t packBf16(float lo, float hi) {
#ifdef __CUDA_ARCH__
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
#else
  // Round to nearest even on the host (finite values only: the emulation's inputs).
  auto bits = [](float f) {
    uint32_t u;
    __builtin_memcpy(&u, &f, 4);
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  };
  return bits(lo) | (bits(hi) << 16);
#endif
}

// The two bf16 of a packed pair as floats (exact), the lower column in lo.
IRIS_HD inline void unpackBf16(uint32_t r, float& lo, float& hi) {
#ifdef __CUDA_ARCH__
  lo = __uint_as_float(r << 16);
  hi = __uint_as_float(r & 0xffff0000u);
#else
  const uint32_t l = r << 16, h = r & 0xffff0000u;
  __builtin_memcpy(&lo, &l, 4);
  __builtin_memcpy(&hi, &h, 4);
#endif
}

// The A fragment of P (probabilities, 16 rows x 16 keys 16kk..16kk+15) from the score accumulators of n-tiles 2kk
// and 2kk+1: the C layout of two adjacent n-tiles is the A layout of one k-step, so no data moves between lanes.
IRIS_HD inline void pFragment(uint32_t (&pa)[4], const float (&lo)[4], const float (&hi)[4]) {
  pa[0] = packBf16(lo[0], lo[1]);  // row g,   keys 2t, 2t+1
  pa[1] = packBf16(lo[2], lo[3]);  // row g+8, keys 2t, 2t+1
  pa[2] = packBf16(hi[0], hi[1]);  // row g,   keys 8+2t, 8+2t+1
  pa[3] = packBf16(hi[2], hi[3]);  // row g+8, keys 8+2t, 8+2t+1
}

// ==== PTX ====
#ifdef __CUDACC__

__device__ __forceinline__ unsigned sharedAddress(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(p)));
}

__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(p)));
}

// The transpose of an 8x8 b16 matrix held one pair a lane (lane L: row L/4, columns 2(L%4), +1), returned the same
// way: a C fragment of S^T (keys x heads) packed to bf16 becomes the B fragment of P^T for O^T = V^T P^T.
__device__ __forceinline__ uint32_t movmatrixTrans(uint32_t x) {
  uint32_t r;
  asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(r) : "r"(x));
  return r;
}

// c += a b for one 16x8x16 tile.
__device__ __forceinline__ void mmaBf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// c += a b for one 16x8x32 tile of E4M3 values. FP8 tensor cores exist from sm_89 on; elsewhere this traps, and
// launchers check the device before starting a kernel that calls it.
__device__ __forceinline__ void mmaE4m3(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  __trap();
#endif
}

// 16 bytes global -> shared without a register round trip; `valid` false writes 16 zero bytes and reads nothing
// (src-size 0), which is how rows past the keys and the padding of a tile become zeros.
__device__ __forceinline__ void cpAsync16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sharedAddress(dst)), "l"(src),
               "r"(valid ? 16 : 0)
               : "memory");
}

__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cpAsyncWaitAll() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
// All but the most recent committed group have landed.
__device__ __forceinline__ void cpAsyncWaitOne() { asm volatile("cp.async.wait_group 1;\n" ::: "memory"); }
// All but the N most recent committed groups have landed (a pipeline N + 1 stages deep).
template <int N>
__device__ __forceinline__ void cpAsyncWait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

#endif

}  // namespace iris::mma
