// NCCL for tensor parallelism, opened with dlopen at first use: the cuda build needs neither NCCL's headers nor its
// library (a machine without NCCL builds and runs every single-GPU path), and `tpSize > 1` on such a machine gets
// a clear error. The few types and entry points used are declared here as NCCL 2.x defines them (stable ABI:
// ncclResult_t, ncclDataType_t and ncclRedOp_t values, the 128-byte ncclUniqueId).
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "iris_cuda.h"
#include "tensor_parallel.h"

namespace iris {

namespace {

// ==== NCCL's ABI ====

using ncclResult = int;  // ncclResult_t: 0 = ncclSuccess, 7 = ncclInProgress
using ncclComm = void*;  // ncclComm_t
struct ncclId {
  char internal[kNcclIdBytes];
};
constexpr int kNcclSum = 0;  // ncclRedOp_t
// ncclDataType_t of each iris::DType (F32, BF16, F16, I32).
constexpr int kNcclTypes[] = {7 /* ncclFloat32 */, 9 /* ncclBfloat16 */, 6 /* ncclFloat16 */, 2 /* ncclInt32 */};

struct Nccl {
  ncclResult (*getUniqueId)(ncclId*);
  ncclResult (*commInitRank)(ncclComm*, int, ncclId, int);
  ncclResult (*allReduce)(const void*, void*, size_t, int, int, ncclComm, cudaStream_t);
  ncclResult (*allGather)(const void*, void*, size_t, int, ncclComm, cudaStream_t);
  ncclResult (*broadcast)(const void*, void*, size_t, int, int, ncclComm, cudaStream_t);
  ncclResult (*commGetAsyncError)(ncclComm, ncclResult*);
  ncclResult (*commAbort)(ncclComm);
  ncclResult (*commDestroy)(ncclComm);
  const char* (*getErrorString)(ncclResult);
};

Nccl api;
std::string loadStatus = "not loaded";
std::once_flag loadOnce;

template <typename F>
bool bind(void* library, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(library, name));
  return *out != nullptr;
}

void load() {
  // NVLink multicast (NVLS) stays off: NCCL reads this when a communicator is made.
  setenv("NCCL_NVLS_ENABLE", "0", 1);
  const char* chosen = std::getenv("IRIS_NCCL_LIBRARY");
  void* library = nullptr;
  std::string tried;
  for (const char* name : {chosen, "libnccl.so.2", "libnccl.so"}) {
    if (name == nullptr) continue;
    library = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (library != nullptr) break;
    const char* why = dlerror();
    tried += std::string(tried.empty() ? "" : "; ") + (why != nullptr ? why : name);
  }
  if (library == nullptr) {
    loadStatus = "libnccl not found (" + tried + "); install NCCL or set IRIS_NCCL_LIBRARY to libnccl.so.2";
    return;
  }
  const bool ok = bind(library, "ncclGetUniqueId", &api.getUniqueId) && bind(library, "ncclCommInitRank", &api.commInitRank) &&
                  bind(library, "ncclAllReduce", &api.allReduce) && bind(library, "ncclAllGather", &api.allGather) &&
                  bind(library, "ncclBroadcast", &api.broadcast) && bind(library, "ncclCommGetAsyncError", &api.commGetAsyncError) &&
                  bind(library, "ncclCommAbort", &api.commAbort) && bind(library, "ncclCommDestroy", &api.commDestroy) &&
                  bind(library, "ncclGetErrorString", &api.getErrorString);
  loadStatus = ok ? "" : "the NCCL library lacks an entry point Iris calls (NCCL 2.x needed)";
}

std::string status(ncclResult result, const char* what) {
  if (result == 0) return "";
  return std::string(what) + ": " + api.getErrorString(result) + " (NCCL error " + std::to_string(result) + ")";
}

bool validType(int dtype) {
  return dtype >= 0 && dtype < int(sizeof(kNcclTypes) / sizeof(kNcclTypes[0]));
}

}  // namespace

std::string ncclLoad() {
  std::call_once(loadOnce, load);
  return loadStatus;
}

std::string ncclUniqueId(unsigned char id[kNcclIdBytes]) {
  if (std::string s = ncclLoad(); !s.empty()) return s;
  ncclId unique;
  std::string s = status(api.getUniqueId(&unique), "ncclGetUniqueId");
  if (s.empty()) std::memcpy(id, unique.internal, kNcclIdBytes);
  return s;
}

std::string ncclInit(const unsigned char id[kNcclIdBytes], int size, int rank, void** comm) {
  if (std::string s = ncclLoad(); !s.empty()) return s;
  if (currentDevice() < 0) return "ncclInit: the rank's cuda device is not initialized";
  ncclId unique;
  std::memcpy(unique.internal, id, kNcclIdBytes);
  return status(api.commInitRank(comm, size, unique, rank), "ncclCommInitRank");
}

std::string ncclAllReduceSum(void* comm, int dtype, const void* send, void* recv, size_t count) {
  if (!validType(dtype)) return "ncclAllReduce: unknown dtype";
  return status(api.allReduce(send, recv, count, kNcclTypes[dtype], kNcclSum, comm, stream()), "ncclAllReduce");
}

std::string ncclAllGather(void* comm, int dtype, const void* send, void* recv, size_t sendCount) {
  if (!validType(dtype)) return "ncclAllGather: unknown dtype";
  return status(api.allGather(send, recv, sendCount, kNcclTypes[dtype], comm, stream()), "ncclAllGather");
}

std::string ncclBroadcast(void* comm, int dtype, const void* send, void* recv, size_t count, int root) {
  if (!validType(dtype)) return "ncclBroadcast: unknown dtype";
  return status(api.broadcast(send, recv, count, kNcclTypes[dtype], root, comm, stream()), "ncclBroadcast");
}

std::string ncclAsyncError(void* comm) {
  ncclResult error = 0;
  std::string s = status(api.commGetAsyncError(comm, &error), "ncclCommGetAsyncError");
  if (!s.empty()) return s;
  // ncclInProgress (7) is a communicator still being set up, not a failure.
  return error == 0 || error == 7 ? "" : status(error, "NCCL");
}

std::string ncclAbort(void* comm) {
  return status(api.commAbort(comm), "ncclCommAbort");
}

std::string ncclDestroy(void* comm) {
  return status(api.commDestroy(comm), "ncclCommDestroy");
}

}  // namespace iris
