// N-API glue of build/iris_cpu.node: converts and checks JavaScript arguments, then calls the kernels. No math here.
// Written against Node-API's C interface (node_api.h, shipped with Node.js): the surface is three functions, and
// the C interface needs no package at build time. src/runtime/native.ts declares the same surface in TypeScript.
//
// Exports (registered at the bottom, on one screen):
//   abiVersion: number                      bumped whenever this surface changes, checked by native.ts
//   linear(y, x, w, bias, T, K, N): void    y[T,N] = x[T,K] · w[N,K]ᵀ + bias[N], on the arrays' own memory
//   info(): { isa, isas, threads, maxThreads }
//   configure({ isa?, threads? }): info     choose the code path and the thread count (benchmarks, tests)

#define NAPI_VERSION 8
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "gemm_cpu.h"

namespace {

constexpr uint32_t kAbiVersion = 1;
// Sizes are checked against this before any product, so T*K and friends cannot overflow 64 bits.
constexpr double kMaxDim = 2147483647.0;

// Throw a JavaScript TypeError or RangeError; the callback returns their nullptr and Node raises the error.
napi_value typeError(napi_env env, const std::string& message) {
  napi_throw_type_error(env, nullptr, message.c_str());
  return nullptr;
}

napi_value rangeError(napi_env env, const std::string& message) {
  napi_throw_range_error(env, nullptr, message.c_str());
  return nullptr;
}

struct FloatArray {
  float* data = nullptr;
  size_t length = 0;
};

// A Float32Array argument: its element pointer (already past the view's byte offset) and length.
bool getFloatArray(napi_env env, napi_value value, FloatArray* out) {
  bool isTyped = false;
  if (napi_is_typedarray(env, value, &isTyped) != napi_ok || !isTyped) return false;
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &out->length, &data, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  out->data = static_cast<float*>(data);
  return true;
}

bool getDim(napi_env env, napi_value value, size_t* out) {
  double d = 0;
  if (napi_get_value_double(env, value, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= kMaxDim && std::floor(d) == d)) return false;
  *out = static_cast<size_t>(d);
  return true;
}

bool overlaps(const FloatArray& a, const FloatArray& b) {
  return a.length > 0 && b.length > 0 && a.data < b.data + b.length && b.data < a.data + a.length;
}

std::string lengthMessage(const char* name, size_t actual, const char* formula, size_t a, size_t b) {
  return std::string("linear: ") + name + " has " + std::to_string(actual) + " elements, expected " + formula + " = " +
         std::to_string(a) + "*" + std::to_string(b) + " = " + std::to_string(a * b);
}

napi_value Linear(napi_env env, napi_callback_info cb) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc != 7) return typeError(env, "linear(y, x, w, bias, T, K, N) takes 7 arguments, got " + std::to_string(argc));
  FloatArray y, x, w, bias;
  if (!getFloatArray(env, argv[0], &y)) return typeError(env, "linear: y must be a Float32Array");
  if (!getFloatArray(env, argv[1], &x)) return typeError(env, "linear: x must be a Float32Array");
  if (!getFloatArray(env, argv[2], &w)) return typeError(env, "linear: w must be a Float32Array");
  napi_valuetype biasType;
  if (napi_typeof(env, argv[3], &biasType) != napi_ok) return nullptr;
  const bool hasBias = biasType != napi_null && biasType != napi_undefined;
  if (hasBias && !getFloatArray(env, argv[3], &bias)) return typeError(env, "linear: bias must be a Float32Array or null");
  size_t T, K, N;
  const char* dimError = "linear: T, K and N must be integers in [0, 2^31)";
  if (!getDim(env, argv[4], &T) || !getDim(env, argv[5], &K) || !getDim(env, argv[6], &N)) return rangeError(env, dimError);
  if (x.length != T * K) return rangeError(env, lengthMessage("x", x.length, "T*K", T, K));
  if (w.length != N * K) return rangeError(env, lengthMessage("w", w.length, "N*K", N, K));
  if (y.length != T * N) return rangeError(env, lengthMessage("y", y.length, "T*N", T, N));
  if (hasBias && bias.length != N) {
    return rangeError(env, "linear: bias has " + std::to_string(bias.length) + " elements, expected N = " + std::to_string(N));
  }
  // The kernel writes y while it reads the inputs: an overlap would read partial results.
  if (overlaps(y, x) || overlaps(y, w) || (hasBias && overlaps(y, bias))) {
    return rangeError(env, "linear: y overlaps an input (x, w or bias)");
  }
  iris::linearF32(y.data, x.data, w.data, hasBias ? bias.data : nullptr, T, K, N);
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value result, isas, value;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, iris::cpuIsaName(iris::cpuIsa()), NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "isa", value);
  napi_create_array(env, &isas);
  uint32_t count = 0;
  for (int i = 0; i < iris::kCpuIsaCount; i++) {
    const auto isa = static_cast<iris::CpuIsa>(i);
    if (!iris::cpuIsaSupported(isa)) continue;
    napi_create_string_utf8(env, iris::cpuIsaName(isa), NAPI_AUTO_LENGTH, &value);
    napi_set_element(env, isas, count++, value);
  }
  napi_set_named_property(env, result, "isas", isas);
  napi_create_int32(env, iris::cpuThreads(), &value);
  napi_set_named_property(env, result, "threads", value);
  napi_create_int32(env, iris::cpuMaxThreads(), &value);
  napi_set_named_property(env, result, "maxThreads", value);
  return result;
}

napi_value Configure(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value options;
  if (napi_get_cb_info(env, cb, &argc, &options, nullptr, nullptr) != napi_ok) return nullptr;
  napi_valuetype type = napi_undefined;
  if (argc < 1 || napi_typeof(env, options, &type) != napi_ok || type != napi_object) {
    return typeError(env, "configure: expected an object { isa?, threads? }");
  }
  napi_value value;
  bool has = false;
  napi_has_named_property(env, options, "isa", &has);
  if (has) {
    char name[32] = {0};
    size_t length = 0;
    napi_get_named_property(env, options, "isa", &value);
    if (napi_get_value_string_utf8(env, value, name, sizeof name, &length) != napi_ok) {
      return typeError(env, "configure: isa must be a string");
    }
    int found = -1;
    for (int i = 0; i < iris::kCpuIsaCount; i++) {
      if (std::string(name) == iris::cpuIsaName(static_cast<iris::CpuIsa>(i))) found = i;
    }
    if (found < 0 || !iris::cpuIsaSupported(static_cast<iris::CpuIsa>(found))) {
      return rangeError(env, std::string("configure: isa '") + name + "' is not supported by this CPU (see info().isas)");
    }
    iris::setCpuIsa(static_cast<iris::CpuIsa>(found));
  }
  napi_has_named_property(env, options, "threads", &has);
  if (has) {
    size_t threads = 0;
    napi_get_named_property(env, options, "threads", &value);
    if (!getDim(env, value, &threads) || threads < 1) return rangeError(env, "configure: threads must be an integer >= 1");
    iris::setCpuThreads(static_cast<int>(threads > 1024 ? 1024 : threads));  // clamped to maxThreads inside
  }
  return Info(env, cb);
}

}  // namespace

// ==== exports ====

NAPI_MODULE_INIT() {
  napi_value abi;
  napi_create_uint32(env, kAbiVersion, &abi);
  const napi_property_descriptor exportsList[] = {
      {"abiVersion", nullptr, nullptr, nullptr, nullptr, abi, napi_enumerable, nullptr},
      {"linear", nullptr, Linear, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"configure", nullptr, Configure, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof exportsList / sizeof exportsList[0], exportsList);
  return exports;
}
