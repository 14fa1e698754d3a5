// N-API bindings of tensor parallelism (include/tensor_parallel.h): the vocabulary-shard embedding and NCCL.
// Communicators cross into JavaScript as numbers (their addresses), as device pointers do.
#include "napi_util.h"
#include "tensor_parallel.h"

namespace iris::napi {

namespace {

napi_value EmbeddingShard(napi_env env, napi_callback_info info) {
  ARGS(7);
  return result(env, embeddingShard(ptr(a[0]), ptr(a[1]), ptr<int32_t>(a[2]), sz(a[3]), int64_t(a[4]), sz(a[5]), sz(a[6])));
}

napi_value NcclStatus(napi_env env, napi_callback_info) {
  const std::string status = ncclLoad();
  if (status.empty()) {
    napi_value null;
    napi_get_null(env, &null);
    return null;
  }
  napi_value message;
  napi_create_string_utf8(env, status.c_str(), status.size(), &message);
  return message;
}

napi_value NcclUniqueId(napi_env env, napi_callback_info) {
  void* data = nullptr;
  napi_value buffer, array;
  napi_create_arraybuffer(env, kNcclIdBytes, &data, &buffer);
  if (std::string s = ncclUniqueId(static_cast<unsigned char*>(data)); !s.empty()) return fail(env, s);
  napi_create_typedarray(env, napi_uint8_array, kNcclIdBytes, buffer, 0, &array);
  return array;
}

napi_value NcclInit(napi_env env, napi_callback_info info) {
  double a[kMaxArgs];
  napi_value raw[kMaxArgs];
  if (!numbers(env, info, 3, a, raw)) return fail(env, "ncclInit: expected 3 arguments");
  void* data = nullptr;
  size_t bytes = 0;
  napi_typedarray_type type;
  bool isTyped = false;
  napi_is_typedarray(env, raw[0], &isTyped);
  if (isTyped) napi_get_typedarray_info(env, raw[0], &type, &bytes, &data, nullptr, nullptr);
  if (!isTyped || type != napi_uint8_array || bytes != kNcclIdBytes) return fail(env, "ncclInit: the id must be a Uint8Array of 128 bytes");
  void* comm = nullptr;
  if (std::string s = ncclInit(static_cast<unsigned char*>(data), int(a[1]), int(a[2]), &comm); !s.empty()) return fail(env, s);
  return number(env, double(reinterpret_cast<uintptr_t>(comm)));
}

napi_value NcclAllReduceSum(napi_env env, napi_callback_info info) {
  ARGS(5);
  return result(env, ncclAllReduceSum(ptr(a[0]), int(a[1]), ptr(a[2]), ptr(a[3]), sz(a[4])));
}

napi_value NcclAllGather(napi_env env, napi_callback_info info) {
  ARGS(5);
  return result(env, ncclAllGather(ptr(a[0]), int(a[1]), ptr(a[2]), ptr(a[3]), sz(a[4])));
}

napi_value NcclBroadcast(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, ncclBroadcast(ptr(a[0]), int(a[1]), ptr(a[2]), ptr(a[3]), sz(a[4]), int(a[5])));
}

napi_value NcclAsyncError(napi_env env, napi_callback_info info) {
  ARGS(1);
  const std::string error = ncclAsyncError(ptr(a[0]));
  napi_value value;
  if (error.empty()) napi_get_null(env, &value);
  else napi_create_string_utf8(env, error.c_str(), error.size(), &value);
  return value;
}

napi_value NcclAbort(napi_env env, napi_callback_info info) {
  ARGS(1);
  return result(env, ncclAbort(ptr(a[0])));
}

napi_value NcclDestroy(napi_env env, napi_callback_info info) {
  ARGS(1);
  return result(env, ncclDestroy(ptr(a[0])));
}

}  // namespace

void registerTensorParallel(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
    {"embeddingShard", nullptr, EmbeddingShard, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclStatus", nullptr, NcclStatus, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclUniqueId", nullptr, NcclUniqueId, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclInit", nullptr, NcclInit, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclAllReduceSum", nullptr, NcclAllReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclAllGather", nullptr, NcclAllGather, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclBroadcast", nullptr, NcclBroadcast, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclAsyncError", nullptr, NcclAsyncError, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclAbort", nullptr, NcclAbort, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ncclDestroy", nullptr, NcclDestroy, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace iris::napi
