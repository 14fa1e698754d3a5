// Whole-warp cpu emulation of the PTX that attention_mma.cu and fp8_grouped_mma.cu issue (ldmatrix .x4 with and
// without .trans, mma.m16n8k16.row.col.f32.bf16.bf16.f32, mma.m16n8k32.row.col.f32.e4m3.e4m3.f32), written from the
// PTX ISA's fragment tables and independent of the lane maps in native/cuda/include/mma_frag.cuh, which the tests
// check against it. Arrays are indexed [lane][register].
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

// Single roundings, never contracted (g++ on x86-64 without -mfma emits no FMA): what the intrinsics promise on a GPU.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }

namespace ptxemu {

inline float bf16ToFloat(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float lowHalf(uint32_t r) { return bf16ToFloat(uint16_t(r & 0xffffu)); }
inline float highHalf(uint32_t r) { return bf16ToFloat(uint16_t(r >> 16)); }
inline uint32_t pair(uint16_t lo, uint16_t hi) { return uint32_t(lo) | (uint32_t(hi) << 16); }

// ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16: lane 8m + j supplies `rows[8m + j]`, the address of row j of
// 8x8 matrix m. Without .trans lane L receives (row L/4, columns 2(L%4), +1) of each matrix; with .trans
// (rows 2(L%4), +1, column L/4). The lower-addressed element goes to the low half.
inline void ldmatrix(uint32_t (&out)[32][4], const uint16_t* const (&rows)[32], bool trans) {
  for (int lane = 0; lane < 32; lane++) {
    for (int m = 0; m < 4; m++) {
      if (!trans) {
        const uint16_t* row = rows[8 * m + lane / 4];
        out[lane][m] = pair(row[2 * (lane % 4)], row[2 * (lane % 4) + 1]);
      } else {
        out[lane][m] = pair(rows[8 * m + 2 * (lane % 4)][lane / 4], rows[8 * m + 2 * (lane % 4) + 1][lane / 4]);
      }
    }
  }
}

// movmatrix.sync.aligned.m8n8.trans.b16: lane L holds (row L/4, columns 2(L%4), +1) of an 8x8 matrix M (lower
// column in the low half) and receives the same elements of M's transpose: M[2(L%4)][L/4] low, M[2(L%4)+1][L/4] high.
inline uint32_t movmatrixTrans(const uint32_t (&in)[32], int lane) {
  auto element = [&](int row, int col) { return uint16_t(in[row * 4 + col / 2] >> (16 * (col % 2))); };
  return pair(element(2 * (lane % 4), lane / 4), element(2 * (lane % 4) + 1, lane / 4));
}

// c += A B for a 16 x 8 accumulator tile held as the mma instructions hold it (c0, c1 = (g, 2t), (g, 2t+1);
// c2, c3 = (g+8, 2t), (g+8, 2t+1)), A and B already unpacked from the lanes' registers: the sum exact (float64), then
// one rounding to fp32.
template <int K>
inline void accumulateTile(float (&c)[32][4], const float (&A)[16][K], const float (&B)[K][8]) {
  for (int lane = 0; lane < 32; lane++) {
    const int g = lane / 4, t = lane % 4;
    for (int e = 0; e < 4; e++) {
      const int i = g + e / 2 * 8, j = 2 * t + e % 2;
      double acc = c[lane][e];
      for (int k = 0; k < K; k++) acc += double(A[i][k]) * B[k][j];
      c[lane][e] = float(acc);
    }
  }
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: c += a b. g = lane / 4, t = lane % 4.
// A: a0 (g, 2t..+1), a1 (g+8, 2t..+1), a2 (g, 2t+8..+9), a3 (g+8, 2t+8..+9); B: b0 (k 2t..+1, n g), b1 (k 2t+8..+9,
// n g); C: c0, c1 (g, 2t), (g, 2t+1), c2, c3 (g+8, 2t), (g+8, 2t+1).
inline void mma(float (&c)[32][4], const uint32_t (&a)[32][4], const uint32_t (&b)[32][2]) {
  float A[16][16], B[16][8];
  for (int lane = 0; lane < 32; lane++) {
    const int g = lane / 4, t = lane % 4;
    const int rowOf[4] = {g, g + 8, g, g + 8}, colOf[4] = {2 * t, 2 * t, 2 * t + 8, 2 * t + 8};
    for (int r = 0; r < 4; r++) {
      A[rowOf[r]][colOf[r]] = lowHalf(a[lane][r]);
      A[rowOf[r]][colOf[r] + 1] = highHalf(a[lane][r]);
    }
    B[2 * t][g] = lowHalf(b[lane][0]);
    B[2 * t + 1][g] = highHalf(b[lane][0]);
    B[2 * t + 8][g] = lowHalf(b[lane][1]);
    B[2 * t + 9][g] = highHalf(b[lane][1]);
  }
  accumulateTile(c, A, B);
}

// An E4M3 byte's value, exactly (as src/core/fp8.ts decodes it): bias 7, subnormals below exponent 1, S.1111.111 NaN.
inline float e4m3ToFloat(uint8_t b) {
  const int exponent = (b >> 3) & 15, mantissa = b & 7;
  const float magnitude = exponent == 15 && mantissa == 7 ? NAN
                          : exponent == 0                ? std::ldexp(float(mantissa), -9)
                                                         : std::ldexp(float(8 + mantissa), exponent - 10);
  return b & 0x80 ? -magnitude : magnitude;
}

// mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32: c += a b. g = lane / 4, t = lane % 4; four bytes a register,
// the lowest k in the lowest byte. A: a0 (g, 4t..+3), a1 (g+8, 4t..+3), a2 (g, 4t+16..+19), a3 (g+8, 4t+16..+19);
// B: b0 (k 4t..+3, n g), b1 (k 4t+16..+19, n g); C as mma's above. Every product of two E4M3 values is exact; the sum
// here is exact too (float64) before one rounding to fp32, where the hardware keeps fewer bits (the kernels promote).
inline void mmaE4m3(float (&c)[32][4], const uint32_t (&a)[32][4], const uint32_t (&b)[32][2]) {
  float A[16][32], B[32][8];
  auto byte = [](uint32_t r, int j) { return e4m3ToFloat(uint8_t(r >> (8 * j))); };
  for (int lane = 0; lane < 32; lane++) {
    const int g = lane / 4, t = lane % 4;
    const int rowOf[4] = {g, g + 8, g, g + 8}, colOf[4] = {4 * t, 4 * t, 4 * t + 16, 4 * t + 16};
    for (int r = 0; r < 4; r++) {
      for (int j = 0; j < 4; j++) A[rowOf[r]][colOf[r] + j] = byte(a[lane][r], j);
    }
    for (int j = 0; j < 4; j++) {
      B[4 * t + j][g] = byte(b[lane][0], j);
      B[4 * t + 16 + j][g] = byte(b[lane][1], j);
    }
  }
  accumulateTile(c, A, B);
}

}  // namespace ptxemu
