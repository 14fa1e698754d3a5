// Helpers of the N-API glue: numbers in, pointers out, launcher messages thrown as JavaScript errors.
#pragma once

#define NAPI_VERSION 8
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "iris_cuda.h"

namespace iris::napi {

constexpr size_t kMaxArgs = 24;

inline napi_value fail(napi_env env, const std::string& message) {
  napi_throw_error(env, "IRIS_CUDA", message.c_str());
  return nullptr;
}

inline napi_value undefinedValue(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

inline napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

// Reads the first n arguments as numbers (null and undefined read as 0: a missing optional pointer); `raw`
// receives the values themselves for arguments that are not numbers (typed arrays).
inline bool numbers(napi_env env, napi_callback_info info, size_t n, double* out, napi_value* raw = nullptr) {
  napi_value argv[kMaxArgs];
  size_t argc = kMaxArgs;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < n) return false;
  for (size_t i = 0; i < n; i++) {
    if (raw != nullptr) raw[i] = argv[i];
    napi_valuetype type;
    napi_typeof(env, argv[i], &type);
    if (type == napi_null || type == napi_undefined) { out[i] = 0; continue; }
    if (type != napi_number) { out[i] = NAN; continue; }
    napi_get_value_double(env, argv[i], &out[i]);
  }
  return true;
}

template <typename P = void>
P* ptr(double d) { return reinterpret_cast<P*>(static_cast<uintptr_t>(d)); }
inline size_t sz(double d) { return static_cast<size_t>(d); }

inline napi_value result(napi_env env, const std::string& status) {
  return status.empty() ? undefinedValue(env) : fail(env, status);
}

inline void setNumber(napi_env env, napi_value object, const char* key, double value) {
  napi_set_named_property(env, object, key, number(env, value));
}

#define ARGS(n)                                                             \
  double a[::iris::napi::kMaxArgs];                                         \
  if (!numbers(env, info, n, a)) return fail(env, "expected " #n " arguments")

// The binding of a kernel knob that takes one integer (the setters kernel-tuning.ts calls).
template <void (*Set)(int)>
napi_value intSetter(napi_env env, napi_callback_info info) {
  ARGS(1);
  Set(int(a[0]));
  return undefinedValue(env);
}

napi_value DownloadEntry(napi_env env, napi_callback_info info);
napi_value SynchronizeEntry(napi_env env, napi_callback_info info);
void registerKernels(napi_env env, napi_value exports);
// The logprob and mixture-of-experts kernels (kernels_logprobs_moe.cc), registered by registerKernels.
void registerLogprobMoeKernels(napi_env env, napi_value exports);
// Tensor parallelism's exports (tensor_parallel.cc): the vocabulary-shard embedding and NCCL.
void registerTensorParallel(napi_env env, napi_value exports);
// The FP8 kernels (kernels_fp8.cc), registered by registerKernels.
void registerFp8Kernels(napi_env env, napi_value exports);

}  // namespace iris::napi
