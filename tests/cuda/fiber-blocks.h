// The cpu emulations' threads (attention-decode-emulation.cc, attention-mma-emulation.cc): a kernel's block runs as one
// fiber (ucontext) a thread, switched only at barriers. A fiber runs until it waits at a barrier; the last to arrive
// runs the barrier's collective and releases the others to the ready queue. Switches happen only at barriers, so each
// is a point where CUDA may switch too; a fiber still waiting when the block ends is a deadlock (reported, exit 1).
#pragma once

#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <utility>
#include <vector>

struct EmuDim {
  unsigned x = 0, y = 0, z = 0;
};
inline EmuDim emuThreadIdx, emuBlockIdx, emuBlockDim, emuGridDim;  // threadIdx (the fiber running now) and co.

inline ucontext_t schedulerContext;
constexpr size_t kStackBytes = 256 * 1024;
struct Fiber {
  ucontext_t context;
  char* stack = new char[kStackBytes];  // allocated once (never zeroed: 128 of them a block add up)
  bool done = false;
};
inline std::vector<Fiber>* fibers = nullptr;
inline std::vector<int> ready;
inline int running = 0;

class Barrier {
 public:
  explicit Barrier(int n) : count_(n) {}
  // Waits for all n; the last to arrive runs `onComplete` (a warp's collective) before the others resume.
  template <class F>
  void wait(F onComplete) {
    if (int(waiters_.size()) + 1 == count_) {
      onComplete();
      ready.insert(ready.end(), waiters_.begin(), waiters_.end());
      waiters_.clear();
      return;
    }
    waiters_.push_back(running);
    swapcontext(&(*fibers)[running].context, &schedulerContext);
  }
  void wait() { wait([] {}); }

 private:
  int count_;
  std::vector<int> waiters_;
};

// Runs `count` fibers of `body` until every one has returned or waits at a barrier the others never reach (false: a
// deadlock). `enter(f)` runs each time fiber f is about to run (it sets threadIdx and whatever else the fiber sees).
inline bool runFibers(int count, std::function<void()> body, const std::function<void(int)>& enter) {
  static std::function<void()> current;
  static std::vector<Fiber> pool;
  if (int(pool.size()) < count) pool.resize(count);
  current = std::move(body);
  fibers = &pool;
  for (int f = 0; f < count; f++) {
    Fiber& fiber = pool[f];
    fiber.done = false;
    getcontext(&fiber.context);
    fiber.context.uc_stack.ss_sp = fiber.stack;
    fiber.context.uc_stack.ss_size = kStackBytes;
    fiber.context.uc_link = &schedulerContext;
    makecontext(&fiber.context, [] {
      current();
      (*fibers)[running].done = true;
    }, 0);
  }
  ready.clear();
  for (int f = 0; f < count; f++) ready.push_back(f);
  while (!ready.empty()) {
    running = ready.back();
    ready.pop_back();
    enter(running);
    swapcontext(&schedulerContext, &pool[running].context);
  }
  for (int f = 0; f < count; f++) {
    if (!pool[f].done) return false;
  }
  return true;
}

// Runs `body` as the `threads` threads of block `index` (blockIdx), each a fiber, until all have returned.
inline void runBlock(EmuDim index, int threads, std::function<void()> body) {
  emuBlockIdx = index;
  if (!runFibers(threads, std::move(body), [](int f) { emuThreadIdx = {unsigned(f), 0, 0}; })) {
    std::printf("deadlock: block (%u, %u, %u) has threads waiting at a barrier the others never reach\n", index.x, index.y, index.z);
    std::exit(1);
  }
}

// A block of at most `Threads` threads (128 unless told; `threads` of them launched): its barrier and its warps, each
// with two slots for its collectives
// (shuffles, ldmatrix, mma: each lane deposits its operands in the slot, the warp meets, each lane reads its part).
// Slots alternate, so a lane already depositing for the next collective never overwrites one a slower lane has yet
// to read.
template <class Slot, int Threads = 128>
struct EmuBlock {
  using SlotType = Slot;
  static constexpr int kThreads = Threads;
  struct Warp {
    Barrier bar{32};
    Slot slots[2];
  };
  explicit EmuBlock(int threads = Threads) : bar(threads) {}
  Barrier bar;
  Warp warps[Threads / 32];
  unsigned sequence[Threads] = {};

  Warp& warp() { return warps[emuThreadIdx.x / 32]; }
  Slot& nextSlot() { return warp().slots[sequence[emuThreadIdx.x]++ % 2]; }
};
inline int emuLane() { return int(emuThreadIdx.x % 32); }

// The blocks of `grid` in launch order, x fastest.
inline std::vector<EmuDim> blocksInOrder(EmuDim grid) {
  std::vector<EmuDim> blocks;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) blocks.push_back({x, y, z});
  return blocks;
}

// Runs `body` as each block of `order` in turn: a fresh Block (its barrier, warps and slots), which `current` points
// at while it runs, of `threads` fibers (Block::kThreads unless told).
template <class Block>
void runBlocks(const std::vector<EmuDim>& order, Block*& current, std::function<void()> body, int threads = Block::kThreads) {
  for (const EmuDim& index : order) {
    Block block(threads);
    current = &block;
    runBlock(index, threads, body);
  }
}

// The blocks of `grid` in a scrambled order (drawn from `seed`), so a kernel whose blocks must not depend on their
// order (a split that may be the last to arrive, an expert's block that finds no rows) meets every order over a run.
inline std::vector<EmuDim> scrambledBlocks(EmuDim grid, uint32_t& seed) {
  std::vector<EmuDim> blocks = blocksInOrder(grid);
  for (size_t i = blocks.size(); i > 1; i--) {
    seed = seed * 1664525u + 1013904223u;
    std::swap(blocks[i - 1], blocks[(seed >> 8) % i]);
  }
  return blocks;
}
