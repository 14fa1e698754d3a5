// Timing marks on the stream: an event recorded where the host is in its enqueueing, read back once the work
// before it has run. The engine's step profile (src/engine/step-profile.ts) brackets each step with two marks to
// tell the device's time on a step from the gaps between steps, which no host clock can see. Events are pooled:
// creating one costs more than recording it, and a profiled run records two per step.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "iris_cuda.h"

namespace iris {

namespace {

std::mutex mutex;
std::unordered_map<int, cudaEvent_t> marks;
std::vector<cudaEvent_t> idle;
int nextId = 1;

}  // namespace

std::string recordMark(int* id) {
  std::lock_guard<std::mutex> lock(mutex);
  if (captureActive()) return "a timing mark cannot be recorded while a graph is being captured";
  cudaEvent_t event = nullptr;
  if (!idle.empty()) {
    event = idle.back();
    idle.pop_back();
  } else {
    std::string status = cudaStatus(cudaEventCreate(&event), "cudaEventCreate (mark)");
    if (!status.empty()) return status;
  }
  std::string status = cudaStatus(cudaEventRecord(event, stream()), "cudaEventRecord (mark)");
  if (!status.empty()) {
    idle.push_back(event);
    return status;
  }
  *id = nextId++;
  marks.emplace(*id, event);
  return "";
}

std::string markElapsed(int from, int to, float* ms) {
  std::lock_guard<std::mutex> lock(mutex);
  auto a = marks.find(from), b = marks.find(to);
  if (a == marks.end() || b == marks.end()) return "no mark " + std::to_string(a == marks.end() ? from : to);
  // Not ready (cudaErrorNotReady) means the caller read before the work behind the mark was collected: a bug.
  return cudaStatus(cudaEventElapsedTime(ms, a->second, b->second), "cudaEventElapsedTime (marks)");
}

void releaseMark(int id) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = marks.find(id);
  if (it == marks.end()) return;
  idle.push_back(it->second);
  marks.erase(it);
}

}  // namespace iris
