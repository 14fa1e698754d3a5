// The cpu emulations' inputs: a seeded uniform stream, bf16 bits (round to nearest even) and scrambled page tables,
// shared by attention-decode-emulation.cc and attention-mma-emulation.cc.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace emulation {

inline uint32_t seed = 7;
inline float uniform() {
  seed = seed * 1664525u + 1013904223u;
  return float(seed >> 8) / 16777216.f;
}
inline uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float fromBf16(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline std::vector<uint16_t> randomBf16(size_t n, float lo, float hi) {
  std::vector<uint16_t> out(n);
  for (auto& x : out) x = toBf16(lo + (hi - lo) * uniform());
  return out;
}

// A paged KV cache's table: each sequence's pages handed out in a scrambled order, at least one spare column of -1
// (maxPages a row), and numPages pages in all (two or three never used), each page at most once, every slot of which the caller fills with keys.
struct ScrambledPages {
  int maxPages = 0, numPages = 0;
  std::vector<int> table;
};
inline ScrambledPages scrambledPages(const std::vector<int>& kvLens, int pageSize) {
  ScrambledPages pages;
  const auto used = [&](int n) { return (n + pageSize - 1) / pageSize; };
  for (int n : kvLens) pages.maxPages = pages.maxPages > used(n) + 1 ? pages.maxPages : used(n) + 1;
  const int S = int(kvLens.size());
  pages.numPages = S * pages.maxPages + 2;
  // The scramble multiplies by 7: a page count that 7 divides would hand one page to several positions (the same
  // keys twice, and a sequence's newest row aliasing an older one), so the pool takes one more spare.
  if (pages.numPages % 7 == 0) pages.numPages++;
  for (int s = 0; s < S; s++)
    for (int p = 0; p < pages.maxPages; p++)
      pages.table.push_back(p < used(kvLens[s]) ? (s * pages.maxPages + p) * 7 % pages.numPages : -1);
  return pages;
}

}  // namespace emulation
