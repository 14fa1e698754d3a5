// The tensor-core PTX of mma_frag.cuh as the cpu emulations run it (attention-mma, attention-decode-mma,
// fp8-grouped-mma and fp8-stream emulations): ldmatrix, movmatrix and mma as whole-warp rendezvous (each lane deposits its operands in the warp's next
// collective slot, the last to arrive computes the warp's result from the PTX ISA's tables in ptx-emulation.h, each
// lane reads its part), and cp.async as copies held until the wait_group that retires their group.
// The including file declares first `Block` (an EmuBlock whose slot holds the operands it uses: rows and out for
// ldmatrix, a, b and c for mma, uint32_t v[32] for movmatrix) and `emuBlock`, the block running. Templates, so a slot
// need hold only what is used.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

#include "fiber-blocks.h"
#include "ptx-emulation.h"

namespace iris::mma {

template <class Slot = typename Block::SlotType>
inline void ldmatrixEmu(uint32_t (&r)[4], const void* p, bool trans) {
  Slot& slot = emuBlock->nextSlot();
  const int lane = emuLane();
  slot.rows[lane] = static_cast<const uint16_t*>(p);
  emuBlock->warp().bar.wait([&] { ptxemu::ldmatrix(slot.out, slot.rows, trans); });
  for (int i = 0; i < 4; i++) r[i] = slot.out[lane][i];
}
// ldmatrix moves b16 pairs whatever they hold (bf16 values, or four E4M3 bytes a register).
template <class Slot = typename Block::SlotType>
inline void ldmatrixX4(uint32_t (&r)[4], const void* p) { ldmatrixEmu<Slot>(r, p, false); }
template <class Slot = typename Block::SlotType>
inline void ldmatrixX4Trans(uint32_t (&r)[4], const void* p) { ldmatrixEmu<Slot>(r, p, true); }

// The warp's 8x8 matrix transposed (the slot's v: one pair a lane).
template <class Slot = typename Block::SlotType>
inline uint32_t movmatrixTrans(uint32_t x) {
  Slot& slot = emuBlock->nextSlot();
  const int lane = emuLane();
  slot.v[lane] = x;
  emuBlock->warp().bar.wait();
  return ptxemu::movmatrixTrans(slot.v, lane);
}

// c += a b for the warp's tile through `whole` (ptxemu::mma or ptxemu::mmaE4m3).
template <class Slot, class Whole>
inline void warpMma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, Whole whole) {
  Slot& slot = emuBlock->nextSlot();
  const int lane = emuLane();
  for (int i = 0; i < 4; i++) slot.a[lane][i] = a[i], slot.c[lane][i] = c[i];
  slot.b[lane][0] = b0;
  slot.b[lane][1] = b1;
  emuBlock->warp().bar.wait([&] { whole(slot.c, slot.a, slot.b); });
  for (int i = 0; i < 4; i++) c[i] = slot.c[lane][i];
}
template <class Slot = typename Block::SlotType>
inline void mmaBf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  warpMma<Slot>(c, a, b0, b1, [](auto& cc, const auto& aa, const auto& bb) { ptxemu::mma(cc, aa, bb); });
}
template <class Slot = typename Block::SlotType>
inline void mmaE4m3(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  warpMma<Slot>(c, a, b0, b1, [](auto& cc, const auto& aa, const auto& bb) { ptxemu::mmaE4m3(cc, aa, bb); });
}

// cp.async lands late, as on the device: a thread's copies are held (their source read at issue: no kernel writes
// what it copies) until a wait_group retires their group, so a pipeline that reads a stage before waiting for it, or
// waits for too few groups, reads the stage's previous tile and fails its reference.
struct PendingCopy {
  void* dst;
  unsigned char bytes[16];
};
struct ThreadCopies {
  std::vector<PendingCopy> open;                 // issued since the last commit
  std::deque<std::vector<PendingCopy>> groups;   // committed, oldest first
};
inline ThreadCopies& threadCopies() {
  static ThreadCopies perThread[1024];
  return perThread[emuThreadIdx.x];
}
inline void cpAsync16(void* dst, const void* src, bool valid) {
#ifdef IRIS_EMULATED_DEVICE
  if (valid) emuCheckRead(src);  // read before the kernel ahead's writes are waited for (emulated-device.h)
#endif
  PendingCopy copy{dst, {}};
  if (valid) std::memcpy(copy.bytes, src, 16);
  threadCopies().open.push_back(copy);
}
inline void cpAsyncCommit() {
  ThreadCopies& t = threadCopies();
  t.groups.push_back(std::move(t.open));
  t.open.clear();
}
// All but the newest `pending` committed groups have landed.
inline void cpAsyncWaitGroups(size_t pending) {
  ThreadCopies& t = threadCopies();
  while (t.groups.size() > pending) {
    for (const PendingCopy& c : t.groups.front()) std::memcpy(c.dst, c.bytes, 16);
    t.groups.pop_front();
  }
}
template <int N>
inline void cpAsyncWait() { cpAsyncWaitGroups(N); }
inline void cpAsyncWaitAll() { cpAsyncWaitGroups(0); }
inline void cpAsyncWaitOne() { cpAsyncWaitGroups(1); }

}  // namespace iris::mma
