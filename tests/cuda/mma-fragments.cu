// CPU check of the fragment maps of native/cuda/include/mma_frag.cuh: emulates one warp's ldmatrix (.x4, .trans)
// and mma.m16n8k16 (bf16, row.col, fp32) per lane from the PTX ISA's tables (ptx-emulation.h, written independently
// of the maps under test), runs the same per-lane index math as attention_mma.cu's inner loop on one 16-row x 64-key
// tile, and compares S = Q K^T and O = P V with a plain reference. Plain C++: no CUDA, no GPU.
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
  if (failures > 0) {
    std::printf("%d mismatches\n", failures);
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
