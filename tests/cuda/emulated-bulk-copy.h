// The bulk copies of native/cuda/include/bulk_copy.cuh as the cpu emulations run them (fp8-stream and
// fp8-shared-expert emulations): a copy's source is read when it starts (no kernel writes what it copies) and its bytes
// land in shared memory only when a thread waits on its barrier's phase, so a warp that reads its tile before
// waiting reads the previous block's bytes and fails its reference. A wait on a phase whose expected bytes the copies
// do not add up to (a copy missing, or bytes counted twice) would hang on the GPU: here it stops the run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

namespace iris::bulk {

struct EmulatedBarrier {
  unsigned arrivals = 0, arrived = 0;
  long long expected = 0, copied = 0;
  std::vector<std::pair<void*, std::vector<unsigned char>>> pending;
};
inline std::map<const uint64_t*, EmulatedBarrier>& emulatedBarriers() {
  static std::map<const uint64_t*, EmulatedBarrier> barriers;
  return barriers;
}

inline void barrierInit(uint64_t* barrier, unsigned arrivals) {
  EmulatedBarrier fresh;
  fresh.arrivals = arrivals;
  emulatedBarriers()[barrier] = fresh;
}

inline void arriveExpectingBytes(uint64_t* barrier, unsigned bytes) {
  EmulatedBarrier& b = emulatedBarriers().at(barrier);
  b.arrived++;
  b.expected += bytes;
}

inline void copyToShared(void* dst, const void* src, unsigned bytes, uint64_t* barrier) {
  if (bytes % 16 != 0 || reinterpret_cast<uintptr_t>(dst) % 16 != 0 || reinterpret_cast<uintptr_t>(src) % 16 != 0) {
    std::printf("bulk copy: %u bytes from %p to %p: sizes and addresses must be multiples of 16\n", bytes, src, dst);
    std::exit(1);
  }
#ifdef IRIS_EMULATED_DEVICE
  emuCheckRead(src);  // read before the kernel ahead's writes are waited for (emulated-device.h)
#endif
  EmulatedBarrier& b = emulatedBarriers().at(barrier);
  const unsigned char* from = static_cast<const unsigned char*>(src);
  b.pending.emplace_back(dst, std::vector<unsigned char>(from, from + bytes));
  b.copied += bytes;
}

inline void waitPhase(uint64_t* barrier, unsigned parity) {
  EmulatedBarrier& b = emulatedBarriers().at(barrier);
  if (parity != 0 || b.arrived != b.arrivals || b.copied != b.expected) {
    std::printf("bulk copy: a wait on phase %u that never completes (%u of %u arrivals, %lld of %lld bytes)\n", parity,
                b.arrived, b.arrivals, b.copied, b.expected);
    std::exit(1);
  }
  for (auto& [dst, bytes] : b.pending) std::memcpy(dst, bytes.data(), bytes.size());
  b.pending.clear();
}

}  // namespace iris::bulk
