// CUDA graphs of the device's stream: capture a step's launches once, replay them with one call. Memory the
// kernels take from the caching allocator while a capture runs (attention's split scratch, say) belongs to the
// graph from then on: its address is baked into the graph, so it is not handed to anyone else until the graph is
// destroyed. Inputs are copied into the captured tensors' fixed addresses before each replay, never during one.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "iris_cuda.h"

namespace iris {

namespace {

struct Graph {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  std::vector<void*> blocks;
};

std::mutex mutex;
std::unordered_map<int, Graph> graphs;
int nextId = 1;
bool capturing = false;
std::vector<void*> captureBlocks;

}  // namespace

bool captureActive() {
  return capturing;
}

void keepForCapture(void* block) {
  captureBlocks.push_back(block);
}

std::string beginCapture() {
  std::lock_guard<std::mutex> lock(mutex);
  if (capturing) return "a capture is already running";
  // Relaxed: the allocator may still call cudaMalloc for a block it has not cached yet.
  std::string status = cudaStatus(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed), "cudaStreamBeginCapture");
  if (status.empty()) capturing = true;
  return status;
}

std::string endCapture(int* id) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!capturing) return "no capture is running";
  capturing = false;
  Graph g;
  g.blocks.swap(captureBlocks);
  std::string status = cudaStatus(cudaStreamEndCapture(stream(), &g.graph), "cudaStreamEndCapture");
  if (status.empty()) status = cudaStatus(cudaGraphInstantiate(&g.exec, g.graph, 0), "cudaGraphInstantiate");
  if (!status.empty()) {
    if (g.graph != nullptr) cudaGraphDestroy(g.graph);
    for (void* b : g.blocks) releaseGraphBlock(b);
    return status;
  }
  *id = nextId++;
  graphs.emplace(*id, std::move(g));
  return "";
}

std::string replay(int id) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = graphs.find(id);
  if (it == graphs.end()) return "no graph " + std::to_string(id);
  return cudaStatus(cudaGraphLaunch(it->second.exec, stream()), "cudaGraphLaunch");
}

void destroyGraph(int id) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = graphs.find(id);
  if (it == graphs.end()) return;
  cudaGraphExecDestroy(it->second.exec);
  cudaGraphDestroy(it->second.graph);
  for (void* b : it->second.blocks) releaseGraphBlock(b);
  graphs.erase(it);
}

}  // namespace iris
