// Tensor parallelism in build/iris_cuda.node: the vocabulary-shard embedding kernel, and NCCL, which the addon opens
// with dlopen at first use (comm/nccl.cc) so that the build needs neither NCCL's headers nor its library. Every
// function returns an error message, empty on success (the convention of iris_cuda.h); collectives enqueue on the
// device's one stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace iris {

// out[t] = table[ids[t] - start] for ids in [start, start + rows), zeros elsewhere; rows of rowBytes bytes.
std::string embeddingShard(void* out, const void* table, const int32_t* ids, size_t m, int64_t start, size_t rows,
                           size_t rowBytes);

// ==== NCCL (comm/nccl.cc) ====

constexpr size_t kNcclIdBytes = 128;

// "" when libnccl loaded (IRIS_NCCL_LIBRARY, else libnccl.so.2, else libnccl.so), else why not.
std::string ncclLoad();
std::string ncclUniqueId(unsigned char id[kNcclIdBytes]);
// Blocks until all `size` ranks joined (ncclCommInitRank); `comm` receives an opaque handle.
std::string ncclInit(const unsigned char id[kNcclIdBytes], int size, int rank, void** comm);
// dtype: iris::DType. In place when send == recv.
std::string ncclAllReduceSum(void* comm, int dtype, const void* send, void* recv, size_t count);
std::string ncclAllGather(void* comm, int dtype, const void* send, void* recv, size_t sendCount);
std::string ncclBroadcast(void* comm, int dtype, const void* send, void* recv, size_t count, int root);
// "" while the communicator is healthy, else NCCL's asynchronous error (a peer gone, a network failure).
std::string ncclAsyncError(void* comm);
std::string ncclAbort(void* comm);
std::string ncclDestroy(void* comm);

}  // namespace iris
