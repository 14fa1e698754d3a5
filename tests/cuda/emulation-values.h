// The cpu emulations' inputs: a seeded uniform stream and bf16 bits (round to nearest even), shared by
// attention-decode-emulation.cc and attention-mma-emulation.cc.
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

}  // namespace emulation
