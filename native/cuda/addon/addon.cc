// N-API glue of build/iris_cuda.node: converts JavaScript numbers to pointers and sizes, calls a launcher, and
// throws the launcher's message as an Error. No math here. Device pointers travel as JavaScript numbers (exact
// below 2^53; x86-64 and arm64 device addresses are below 2^48). src/runtime/cuda/addon.ts declares this surface.
//
// Exports (registered at the bottom):
//   abiVersion                                  bumped whenever the surface changes, checked by addon.ts
//   init(index) -> { name, totalBytes, multiprocessors, computeCapability }
//   memoryInfo() -> { freeBytes, totalBytes }    the driver's view of the device
//   malloc(bytes) -> ptr, free(ptr), stats() -> { allocatedBytes, reservedBytes, peakAllocatedBytes }, emptyCache()
//   upload(ptr, typedArray)                     through pinned staging; the array is free again on return
//   download(ptr, bytes, dtype, out) -> Promise  resolves once `out` (Float32Array/Int32Array) holds the data
//   synchronize() -> Promise                     the stream drained (waited on a worker thread)
//   copy(dst, src, bytes), copy2D(dst, dstPitch, src, srcPitch, widthBytes, rows)
//   graphBegin(), graphEnd() -> id, graphReplay(id), graphDestroy(id)   CUDA graphs of the stream
//   markRecord() -> id, markElapsed(from, to) -> ms, markRelease(id)    timing marks on the stream
//   one function per kernel, arguments as in iris_cuda.h (null pointers as 0)
//   embeddingShard and nccl* (tensor parallelism), arguments as in tensor_parallel.h          addon/tensor_parallel.cc

#include "napi_util.h"

namespace {

using namespace iris::napi;

constexpr uint32_t kAbiVersion = 14;

// ==== device and memory ====

napi_value Init(napi_env env, napi_callback_info info) {
  ARGS(1);
  std::string status = iris::initDevice(int(a[0]));
  if (!status.empty()) return fail(env, status);
  cudaDeviceProp prop{};
  status = iris::cudaStatus(cudaGetDeviceProperties(&prop, int(a[0])), "cudaGetDeviceProperties");
  if (!status.empty()) return fail(env, status);
  napi_value object, name;
  napi_create_object(env, &object);
  napi_create_string_utf8(env, prop.name, NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, object, "name", name);
  setNumber(env, object, "totalBytes", double(prop.totalGlobalMem));
  setNumber(env, object, "multiprocessors", prop.multiProcessorCount);
  setNumber(env, object, "computeCapability", prop.major * 10 + prop.minor);
  return object;
}

napi_value MemoryInfo(napi_env env, napi_callback_info) {
  size_t freeBytes = 0, totalBytes = 0;
  std::string status = iris::cudaStatus(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
  if (!status.empty()) return fail(env, status);
  napi_value object;
  napi_create_object(env, &object);
  setNumber(env, object, "freeBytes", double(freeBytes));
  setNumber(env, object, "totalBytes", double(totalBytes));
  return object;
}

napi_value Malloc(napi_env env, napi_callback_info info) {
  ARGS(1);
  void* p = nullptr;
  std::string status = iris::deviceMalloc(sz(a[0]), &p);
  if (!status.empty()) return fail(env, status);
  return number(env, double(reinterpret_cast<uintptr_t>(p)));
}

napi_value Free(napi_env env, napi_callback_info info) {
  ARGS(1);
  iris::deviceFree(ptr(a[0]));
  return undefinedValue(env);
}

napi_value Stats(napi_env env, napi_callback_info) {
  const iris::AllocatorStats s = iris::allocatorStats();
  napi_value object;
  napi_create_object(env, &object);
  setNumber(env, object, "allocatedBytes", double(s.allocated));
  setNumber(env, object, "reservedBytes", double(s.reserved));
  setNumber(env, object, "peakAllocatedBytes", double(s.peak));
  return object;
}

napi_value EmptyCache(napi_env env, napi_callback_info) {
  iris::emptyCache();
  return undefinedValue(env);
}

bool typedArrayBytes(napi_env env, napi_value value, void** data, size_t* bytes) {
  bool isTyped = false;
  if (napi_is_typedarray(env, value, &isTyped) != napi_ok || !isTyped) return false;
  napi_typedarray_type type;
  size_t length = 0;
  if (napi_get_typedarray_info(env, value, &type, &length, data, nullptr, nullptr) != napi_ok) return false;
  const size_t element = type == napi_uint16_array || type == napi_int16_array ? 2 : type == napi_float64_array ? 8
                       : type == napi_uint8_array || type == napi_int8_array ? 1 : 4;
  *bytes = length * element;
  return true;
}

napi_value Upload(napi_env env, napi_callback_info info) {
  double a[2];
  napi_value raw[2];
  if (!numbers(env, info, 2, a, raw)) return fail(env, "upload(ptr, typedArray)");
  void* data = nullptr;
  size_t bytes = 0;
  if (!typedArrayBytes(env, raw[1], &data, &bytes)) return fail(env, "upload: the source must be a typed array");
  return result(env, iris::uploadBytes(ptr(a[0]), data, bytes));
}

napi_value Copy(napi_env env, napi_callback_info info) {
  ARGS(3);
  if (sz(a[2]) == 0) return undefinedValue(env);
  return result(env, iris::cudaStatus(cudaMemcpyAsync(ptr(a[0]), ptr(a[1]), sz(a[2]), cudaMemcpyDeviceToDevice, iris::stream()),
                                      "cudaMemcpyAsync (copy)"));
}

napi_value Copy2D(napi_env env, napi_callback_info info) {
  ARGS(6);
  if (sz(a[4]) == 0 || sz(a[5]) == 0) return undefinedValue(env);
  return result(env, iris::cudaStatus(cudaMemcpy2DAsync(ptr(a[0]), sz(a[1]), ptr(a[2]), sz(a[3]), sz(a[4]), sz(a[5]),
                                                        cudaMemcpyDeviceToDevice, iris::stream()),
                                      "cudaMemcpy2DAsync (sliceColumns)"));
}

napi_value GraphBegin(napi_env env, napi_callback_info) {
  return result(env, iris::beginCapture());
}

napi_value GraphEnd(napi_env env, napi_callback_info) {
  int id = 0;
  std::string status = iris::endCapture(&id);
  if (!status.empty()) return fail(env, status);
  return number(env, id);
}

napi_value GraphReplay(napi_env env, napi_callback_info info) {
  ARGS(1);
  return result(env, iris::replay(int(a[0])));
}

napi_value GraphDestroy(napi_env env, napi_callback_info info) {
  ARGS(1);
  iris::destroyGraph(int(a[0]));
  return undefinedValue(env);
}

napi_value MarkRecord(napi_env env, napi_callback_info) {
  int id = 0;
  std::string status = iris::recordMark(&id);
  if (!status.empty()) return fail(env, status);
  return number(env, id);
}

napi_value MarkElapsed(napi_env env, napi_callback_info info) {
  ARGS(2);
  float ms = 0;
  std::string status = iris::markElapsed(int(a[0]), int(a[1]), &ms);
  if (!status.empty()) return fail(env, status);
  return number(env, ms);
}

napi_value MarkRelease(napi_env env, napi_callback_info info) {
  ARGS(1);
  iris::releaseMark(int(a[0]));
  return undefinedValue(env);
}

}  // namespace

using namespace iris::napi;

static napi_value InitModule(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
    {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"memoryInfo", nullptr, MemoryInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"malloc", nullptr, Malloc, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"free", nullptr, Free, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"stats", nullptr, Stats, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"emptyCache", nullptr, EmptyCache, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"upload", nullptr, Upload, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"download", nullptr, DownloadEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"synchronize", nullptr, SynchronizeEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"copy", nullptr, Copy, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"copy2D", nullptr, Copy2D, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"graphBegin", nullptr, GraphBegin, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"graphEnd", nullptr, GraphEnd, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"graphReplay", nullptr, GraphReplay, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"graphDestroy", nullptr, GraphDestroy, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"markRecord", nullptr, MarkRecord, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"markElapsed", nullptr, MarkElapsed, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"markRelease", nullptr, MarkRelease, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value version;
  napi_create_uint32(env, kAbiVersion, &version);
  napi_set_named_property(env, exports, "abiVersion", version);
  registerKernels(env, exports);
  registerTensorParallel(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, InitModule)
