// CPU check of the fragment maps of native/cuda/include/mma_frag.cuh: emulates one warp's ldmatrix (.x4, .trans)
// and mma.m16n8k16 (bf16, row.col, fp32) per lane from the PTX ISA's tables (ptx-emulation.h, written independently
// of the maps under test), runs the same per-lane index math as attention_mma.cu's inner loop on one 16-row x 64-key
// tile, and compares S = Q K^T and O = P V with a plain reference; the same for attention_decode_mma.cu's transposed
// products (S^T = K Q^T, O^T = V^T P^T with P^T through movmatrix). Plain C++: no CUDA, no GPU.
//
//   c++ -std=c++17 -x c++ -Inative/cuda/include tests/cuda/mma-fragments.cu -o /tmp/mma-fragments && /tmp/mma-fragments
// (tests/cuda/mma-fragments.test.ts does this.) Prints "ok" and exits 0, or the first mismatches and exits 1.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "mma_frag.cuh"
#include "ptx-emulation.h"

using namespace iris::mma;

namespace {

using ptxemu::bf16ToFloat;

struct Regs4 {
  uint32_t r[32][4];
  uint32_t* operator[](int lane) { return r[lane]; }
};

// ldmatrix over `mem` with each lane's row given as an offset in elements.
void ldmatrix(Regs4& out, const std::vector<uint16_t>& mem, const int (&addr)[32], bool trans) {
  const uint16_t* rows[32];
  for (int lane = 0; lane < 32; lane++) rows[lane] = mem.data() + addr[lane];
  ptxemu::ldmatrix(out.r, rows, trans);
}

void mmaWarp(float (&c)[32][4], const uint32_t (&a)[32][4], const uint32_t (&b)[32][2]) { ptxemu::mma(c, a, b); }

uint32_t seed = 12345;
uint16_t randomBf16() {  // small integers and halves: products and sums stay exact
  seed = seed * 1103515245u + 12345u;
  const float f = float(int((seed >> 16) % 9) - 4) * 0.5f;
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t(u >> 16);
}

int failures = 0;
void expect(bool ok, const char* what, int a, int b, int c, double got, double want) {
  if (!ok && failures++ < 5) std::printf("%s [%d %d %d]: got %g, want %g\n", what, a, b, c, got, want);
}

// One warp, rows 0-15 of a Q tile, one 64-key K/V tile, head dim DP (padded, a multiple of 16), row stride LD.
void checkTile(int DP) {
  const int LD = DP + 8, KS = DP / 16, NT = DP / 8, NK = 8;
  std::vector<uint16_t> Q(16 * LD), K(64 * LD), V(64 * LD);
  for (auto& x : Q) x = randomBf16();
  for (auto& x : K) x = randomBf16();
  for (auto& x : V) x = randomBf16();

  // Q fragments, as attention_mma.cu loads them (warp 0).
  std::vector<Regs4> qf(KS);
  for (int kk = 0; kk < KS; kk++) {
    int addr[32];
    for (int lane = 0; lane < 32; lane++) addr[lane] = aRow(lane) * LD + kk * 16 + aCol(lane);
    ldmatrix(qf[kk], Q, addr, false);
  }
  // S = Q K^T.
  static float sc[8][32][4];
  std::memset(sc, 0, sizeof sc);
  for (int kk = 0; kk < KS; kk++) {
    for (int np = 0; np < NK / 2; np++) {
      int addr[32];
      for (int lane = 0; lane < 32; lane++) addr[lane] = (np * 16 + kRow(lane)) * LD + kk * 16 + kCol(lane);
      Regs4 b;
      ldmatrix(b, K, addr, false);
      uint32_t b01[32][2], b23[32][2];
      for (int lane = 0; lane < 32; lane++) {
        b01[lane][0] = b[lane][0], b01[lane][1] = b[lane][1];
        b23[lane][0] = b[lane][2], b23[lane][1] = b[lane][3];
      }
      mmaWarp(sc[2 * np], qf[kk].r, b01);
      mmaWarp(sc[2 * np + 1], qf[kk].r, b23);
    }
  }
  for (int n = 0; n < NK; n++) {
    for (int lane = 0; lane < 32; lane++) {
      for (int e = 0; e < 4; e++) {
        const int row = accRow(lane, e), key = n * 8 + accCol(lane, e);
        double want = 0;
        for (int d = 0; d < DP; d++) want += double(bf16ToFloat(Q[row * LD + d])) * bf16ToFloat(K[key * LD + d]);
        expect(std::fabs(sc[n][lane][e] - want) < 1e-3, "S = Q K^T", DP, row, key, sc[n][lane][e], want);
      }
    }
  }
  // P: a value that names its (row, key) as the kernel believes it owns them; O = P V.
  auto pOf = [](int row, int key) { return float((row * 7 + key * 3) % 11 - 5) * 0.25f; };
  for (int n = 0; n < NK; n++)
    for (int lane = 0; lane < 32; lane++)
      for (int e = 0; e < 4; e++) sc[n][lane][e] = pOf(accRow(lane, e), n * 8 + accCol(lane, e));
  std::vector<float> o(size_t(NT) * 32 * 4, 0.f);
  for (int kk = 0; kk < NK / 2; kk++) {
    uint32_t pa[32][4];
    for (int lane = 0; lane < 32; lane++) pFragment(pa[lane], sc[2 * kk][lane], sc[2 * kk + 1][lane]);
    for (int np = 0; np < NT / 2; np++) {
      int addr[32];
      for (int lane = 0; lane < 32; lane++) addr[lane] = (kk * 16 + vRow(lane)) * LD + np * 16 + vCol(lane);
      Regs4 b;
      ldmatrix(b, V, addr, true);
      uint32_t b01[32][2], b23[32][2];
      for (int lane = 0; lane < 32; lane++) {
        b01[lane][0] = b[lane][0], b01[lane][1] = b[lane][1];
        b23[lane][0] = b[lane][2], b23[lane][1] = b[lane][3];
      }
      float c0[32][4], c1[32][4];
      for (int lane = 0; lane < 32; lane++)
        for (int e = 0; e < 4; e++) c0[lane][e] = o[((2 * np) * 32 + lane) * 4 + e], c1[lane][e] = o[((2 * np + 1) * 32 + lane) * 4 + e];
      mmaWarp(c0, pa, b01);
      mmaWarp(c1, pa, b23);
      for (int lane = 0; lane < 32; lane++)
        for (int e = 0; e < 4; e++) o[((2 * np) * 32 + lane) * 4 + e] = c0[lane][e], o[((2 * np + 1) * 32 + lane) * 4 + e] = c1[lane][e];
    }
  }
  for (int n = 0; n < NT; n++) {
    for (int lane = 0; lane < 32; lane++) {
      for (int e = 0; e < 4; e++) {
        const int row = accRow(lane, e), d = n * 8 + accCol(lane, e);
        double want = 0;
        for (int key = 0; key < 64; key++) want += double(pOf(row, key)) * bf16ToFloat(V[key * LD + d]);
        const float got = o[(n * 32 + lane) * 4 + e];
        expect(std::fabs(got - want) < 1e-3, "O = P V", DP, row, d, got, want);
      }
    }
  }
}

// attention_decode_mma.cu's transposed products on one 16-key tile, head dim D, 8 heads as N: S^T = K Q^T (K as A via
// ldmatrix, Q^T as B loaded a pair a register), then P^T from S^T's accumulators through movmatrix and O^T = V^T P^T
// (V^T as A via ldmatrix .trans).
void checkTransposedTile(int D) {
  const int LD = D + 8, KS = D / 16;
  std::vector<uint16_t> Q(8 * D), K(16 * LD), V(16 * LD);
  for (auto& x : Q) x = randomBf16();
  for (auto& x : K) x = randomBf16();
  for (auto& x : V) x = randomBf16();
  float st[32][4] = {};
  for (int kk = 0; kk < KS; kk++) {
    int addr[32];
    for (int lane = 0; lane < 32; lane++) addr[lane] = aRow(lane) * LD + kk * 16 + aCol(lane);
    Regs4 a;
    ldmatrix(a, K, addr, false);
    uint32_t b[32][2];
    for (int lane = 0; lane < 32; lane++) {
      const int g = lane / 4, t = lane % 4;
      b[lane][0] = ptxemu::pair(Q[g * D + kk * 16 + 2 * t], Q[g * D + kk * 16 + 2 * t + 1]);
      b[lane][1] = ptxemu::pair(Q[g * D + kk * 16 + 2 * t + 8], Q[g * D + kk * 16 + 2 * t + 9]);
    }
    mmaWarp(st, a.r, b);
  }
  for (int lane = 0; lane < 32; lane++) {
    for (int e = 0; e < 4; e++) {
      const int key = accRow(lane, e), head = accCol(lane, e);
      double want = 0;
      for (int d = 0; d < D; d++) want += double(bf16ToFloat(K[key * LD + d])) * bf16ToFloat(Q[head * D + d]);
      expect(std::fabs(st[lane][e] - want) < 1e-3, "S^T = K Q^T", D, key, head, st[lane][e], want);
    }
  }
  // P^T: a value naming its (key, head) where the accumulators hold it; transposed to B by movmatrix.
  auto pOf = [](int key, int head) { return float((key * 5 + head * 3) % 11 - 5) * 0.25f; };
  uint32_t lowKeys[32], highKeys[32], b[32][2];
  for (int lane = 0; lane < 32; lane++) {
    lowKeys[lane] = packBf16(pOf(accRow(lane, 0), accCol(lane, 0)), pOf(accRow(lane, 1), accCol(lane, 1)));
    highKeys[lane] = packBf16(pOf(accRow(lane, 2), accCol(lane, 2)), pOf(accRow(lane, 3), accCol(lane, 3)));
  }
  for (int lane = 0; lane < 32; lane++) {
    b[lane][0] = ptxemu::movmatrixTrans(lowKeys, lane);
    b[lane][1] = ptxemu::movmatrixTrans(highKeys, lane);
  }
  for (int mt = 0; mt < KS; mt++) {
    int addr[32];
    for (int lane = 0; lane < 32; lane++) addr[lane] = vtRow(lane) * LD + mt * 16 + vtCol(lane);
    Regs4 a;
    ldmatrix(a, V, addr, true);
    float ot[32][4] = {};
    mmaWarp(ot, a.r, b);
    for (int lane = 0; lane < 32; lane++) {
      for (int e = 0; e < 4; e++) {
        const int d = mt * 16 + accRow(lane, e), head = accCol(lane, e);
        double want = 0;
        for (int key = 0; key < 16; key++) want += double(bf16ToFloat(V[key * LD + d])) * pOf(key, head);
        expect(std::fabs(ot[lane][e] - want) < 1e-3, "O^T = V^T P^T", D, d, head, ot[lane][e], want);
      }
    }
  }
}

}  // namespace

int main() {
  // Each lane's ldmatrix rows must be 16-byte aligned: rows of LD elements, columns multiples of 8.
  for (int lane = 0; lane < 32; lane++) {
    if (aCol(lane) % 8 || kCol(lane) % 8 || vCol(lane) % 8) {
      std::printf("lane %d: a column is not a multiple of 8\n", lane);
      return 1;
    }
  }
  for (int DP : {16, 32, 80, 96, 128}) checkTile(DP);
  for (int D : {64, 128}) checkTransposedTile(D);
  if (failures > 0) {
    std::printf("%d mismatches\n", failures);
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
