// A small persistent thread pool for the cpu kernels. The jobs [0, jobs) of one call are split into one contiguous
// range per participant (the caller first, then the workers in order), so the same thread gets the same part of a
// product on every call and finds its part of the weights still in its own caches; a participant that finishes
// early takes jobs from the others' ranges, so a thread slowed by another process on a shared machine holds nobody back.
//
// Workers spin for a short while after a call before they sleep, because the engine issues matrix products back to
// back and waking a sleeping thread costs tens of microseconds, as much as a whole small product. The caller never
// waits for a sleeping worker: jobs it has not started are taken by the others. One call runs at a time: `tryRun`
// returns false when another thread (a second Node.js worker) holds the pool, and that caller computes alone.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace iris {

class ThreadPool {
 public:
  using JobFn = void (*)(void* ctx, int job);
  static constexpr int kMaxParticipants = 64;

  explicit ThreadPool(int workers) : workers_(workers < kMaxParticipants ? workers : kMaxParticipants - 1) {
    for (int i = 0; i < workers_; i++) threads_.emplace_back([this, i] { workerLoop(i); });
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  // NOTE: never destroyed (see pool() in gemm_cpu.cc): joining at process exit could wait on a thread that a
  // Node.js worker is still driving, and the OS reclaims the threads anyway. The threads run this library's code
  // for the life of the process, so the library is linked with -z nodelete (scripts/build-native.mjs).
  ~ThreadPool() = delete;

  int workers() const { return workers_; }

  // Runs fn(ctx, j) for every j in [0, jobs) on the caller and the first `helpers` workers, and returns once all
  // jobs are done. Returns false, running nothing, when the pool is busy with another caller's call.
  bool tryRun(int jobs, int helpers, JobFn fn, void* ctx) {
    std::unique_lock<std::mutex> busy(callMutex_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    if (helpers > workers_) helpers = workers_;
    // No worker reads these until it accepts an invitation (acquire), and none is open between calls.
    fn_ = fn;
    ctx_ = ctx;
    participants_ = helpers + 1;
    for (int p = 0; p < participants_; p++) {
      ranges_[p].next.store(static_cast<int>(static_cast<int64_t>(jobs) * p / participants_), std::memory_order_relaxed);
      ranges_[p].end = static_cast<int>(static_cast<int64_t>(jobs) * (p + 1) / participants_);
    }
    for (int w = 0; w < helpers; w++) state_[w].value.store(kInvited, std::memory_order_release);
    // seq_cst on the generation and the sleeper count: a worker that counted itself asleep after this load
    // re-checks the generation under the lock and sees the new value, so no wake-up is lost.
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(sleepMutex_); }
      wake_.notify_all();
    }
    work(0);
    // Every range is claimed now. Withdraw the invitations nobody accepted; wait for those who did to finish.
    for (int w = 0; w < helpers; w++) {
      int expected = kInvited;
      if (state_[w].value.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel)) continue;
      // Its last job normally ends within microseconds; yielding after a while lets a worker that the OS preempted
      // (more busy threads than cores) finish on this core instead of waiting out a time slice.
      for (int i = 0; state_[w].value.load(std::memory_order_acquire) != kIdle; i++) {
        if (i < kSpinsBeforeYield) pause();
        else std::this_thread::yield();
      }
    }
    return true;
  }

 private:
  enum : int { kIdle = 0, kInvited = 1, kWorking = 2 };
  static constexpr int kSpinsBeforeYield = 1000;  // about 20-40 µs of pause instructions

  struct alignas(64) Range {  // one cache line each: participants claim jobs without contending
    std::atomic<int> next{0};
    int end = 0;
  };
  struct alignas(64) State {
    std::atomic<int> value{kIdle};
  };

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  // Participant p: its own range first, then whatever is left of the others'.
  void work(int p) {
    for (int i = 0; i < participants_; i++) {
      Range& r = ranges_[(p + i) % participants_];
      for (int j = r.next.fetch_add(1, std::memory_order_relaxed); j < r.end; j = r.next.fetch_add(1, std::memory_order_relaxed)) {
        fn_(ctx_, j);
      }
    }
  }

  void workerLoop(int w) {
    uint64_t seen = 0;
    for (;;) {
      seen = waitForGeneration(seen);
      int expected = kInvited;
      if (!state_[w].value.compare_exchange_strong(expected, kWorking, std::memory_order_acq_rel)) continue;
      work(w + 1);
      state_[w].value.store(kIdle, std::memory_order_release);
    }
  }

  uint64_t waitForGeneration(uint64_t seen) {
    // About 100 µs of waiting before sleeping: longer than the gap between two projections of a layer, short enough
    // that an idle engine does not keep a core busy. Past the first spins it yields, so on a machine with more busy
    // threads than cores the wait gives its core to them.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
    for (int i = 0;; i++) {
      const uint64_t g = generation_.load(std::memory_order_acquire);
      if (g != seen) return g;
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) break;
      if (i < kSpinsBeforeYield) pause();
      else std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lock(sleepMutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    wake_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return generation_.load(std::memory_order_acquire);
  }

  const int workers_;
  std::vector<std::thread> threads_;
  std::mutex callMutex_;
  std::mutex sleepMutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  State state_[kMaxParticipants];
  Range ranges_[kMaxParticipants];
  // Written by the caller before the invitations (release), read by a worker after it accepts one (acquire).
  JobFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int participants_ = 1;
};

}  // namespace iris
