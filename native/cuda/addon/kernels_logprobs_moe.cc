// N-API bindings of the logprob and mixture-of-experts launchers (kernels/logprobs.cu, kernels/moe.cu), kept out of
// kernels.cc so the two lists change independently. Arguments in the order of iris_cuda.h; shapes were checked by
// src/kernels and src/runtime/cuda before the call.
#include "napi_util.h"

namespace iris::napi {

namespace {

napi_value LogSoftmax(napi_env env, napi_callback_info info) {
  ARGS(4);
  return result(env, logSoftmax(ptr<float>(a[0]), ptr<float>(a[1]), sz(a[2]), sz(a[3])));
}
napi_value GatherColumns(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, gatherColumns(ptr<float>(a[0]), ptr<float>(a[1]), ptr<int32_t>(a[2]), sz(a[3]), sz(a[4]), sz(a[5])));
}
napi_value TopK(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, topK(ptr<float>(a[0]), ptr<int32_t>(a[1]), ptr<float>(a[2]), sz(a[3]), sz(a[4]), sz(a[5])));
}

napi_value MoeScratchBytes(napi_env env, napi_callback_info info) {
  ARGS(5);
  return number(env, double(moeScratchBytes(int(a[0]), sz(a[1]), sz(a[2]), sz(a[3]), sz(a[4]))));
}
// moeTop1Sigmoid(dtype, out, x, routerLogits, gateUp, down, T, H, E, I, scratch, scratchBytes)
napi_value MoeTop1Sigmoid(napi_env env, napi_callback_info info) {
  ARGS(12);
  return result(env, moeTop1Sigmoid(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), ptr(a[5]), sz(a[6]), sz(a[7]), sz(a[8]),
                                    sz(a[9]), ptr(a[10]), sz(a[11])));
}

}  // namespace

void registerLogprobMoeKernels(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
    {"logSoftmax", nullptr, LogSoftmax, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"gatherColumns", nullptr, GatherColumns, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"topK", nullptr, TopK, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"moeScratchBytes", nullptr, MoeScratchBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"moeTop1Sigmoid", nullptr, MoeTop1Sigmoid, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace iris::napi
