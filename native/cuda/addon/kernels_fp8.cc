// N-API bindings of the FP8 launchers (kernels/fp8_*.cu, gemm_lt.cc's FP8 product), kept out of kernels.cc so the
// lists change independently. Arguments in the order of iris_cuda.h; shapes were checked by src/kernels and
// src/runtime/cuda before the call.
#include "napi_util.h"

namespace iris::napi {

namespace {

// quantizeFp8(inDtype, q, scale, x, batches, R, C, transpose)
napi_value QuantizeFp8(napi_env env, napi_callback_info info) {
  ARGS(8);
  return result(env, quantizeFp8(int(a[0]), ptr(a[1]), ptr<float>(a[2]), ptr(a[3]), sz(a[4]), sz(a[5]), sz(a[6]), a[7] != 0));
}
// linearFp8(outDtype, out, x, xScale, w, wScale, bias, T, K, N)
napi_value LinearFp8(napi_env env, napi_callback_info info) {
  ARGS(10);
  return result(env, linearFp8(int(a[0]), ptr(a[1]), ptr(a[2]), ptr<float>(a[3]), ptr(a[4]), ptr<float>(a[5]), ptr(a[6]), sz(a[7]),
                               sz(a[8]), sz(a[9])));
}
napi_value MoeFp8ScratchBytes(napi_env env, napi_callback_info info) {
  ARGS(5);
  return number(env, double(moeFp8ScratchBytes(int(a[0]), sz(a[1]), sz(a[2]), sz(a[3]), sz(a[4]))));
}
// moeTop1SigmoidFp8(dtype, out, x, routerLogits, gateUp, gateUpScale, down, downScale, T, H, E, I, scratch, scratchBytes)
napi_value MoeTop1SigmoidFp8(napi_env env, napi_callback_info info) {
  ARGS(14);
  return result(env, moeTop1SigmoidFp8(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), ptr<float>(a[5]), ptr(a[6]),
                                       ptr<float>(a[7]), sz(a[8]), sz(a[9]), sz(a[10]), sz(a[11]), ptr(a[12]), sz(a[13])));
}
// moeFp8SharedFold(dtype, T, H, E, I) -> 1 or 0: whether moeTop1SigmoidFp8Shared serves these sizes now
napi_value MoeFp8SharedFold(napi_env env, napi_callback_info info) {
  ARGS(5);
  return number(env, moeFp8SharedFold(int(a[0]), sz(a[1]), sz(a[2]), sz(a[3]), sz(a[4])) ? 1 : 0);
}
napi_value MoeFp8SharedScratchBytes(napi_env env, napi_callback_info info) {
  ARGS(5);
  return number(env, double(moeFp8SharedScratchBytes(int(a[0]), sz(a[1]), sz(a[2]), sz(a[3]), sz(a[4]))));
}
// moeTop1SigmoidFp8Shared(dtype, out, x, routerLogits, gateUp, gateUpScale, down, downScale, sharedGateUp,
//   sharedGateUpScale, sharedDown, sharedDownScale, T, H, E, I, scratch, scratchBytes)
napi_value MoeTop1SigmoidFp8Shared(napi_env env, napi_callback_info info) {
  ARGS(18);
  Fp8SharedExpert shared;
  shared.gateUp = ptr(a[8]);
  shared.gateUpScale = ptr<float>(a[9]);
  shared.down = ptr(a[10]);
  shared.downScale = ptr<float>(a[11]);
  return result(env, moeTop1SigmoidFp8Shared(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), ptr<float>(a[5]), ptr(a[6]),
                                             ptr<float>(a[7]), shared, sz(a[12]), sz(a[13]), sz(a[14]), sz(a[15]), ptr(a[16]),
                                             sz(a[17])));
}

// fp8QuantizeInProduct() -> 1 or 0: whether the FP8 products at decode sizes quantize their float input inside
napi_value Fp8QuantizeInProduct(napi_env env, napi_callback_info) {
  return number(env, double(fp8QuantizeInProduct()));
}

// fp8ProductOnTensorCores() -> 1 or 0: whether those products stream their weights through the tensor cores
napi_value Fp8ProductOnTensorCores(napi_env env, napi_callback_info) {
  return number(env, double(fp8ProductOnTensorCores()));
}

// setFp8Timeline(buffer, bytes): a zeroed device buffer for the products' marks (fp8_timeline.cuh), or 0 for off
napi_value SetFp8Timeline(napi_env env, napi_callback_info info) {
  ARGS(2);
  setFp8Timeline(ptr(a[0]), sz(a[1]));
  return undefinedValue(env);
}

// fp8TimelineLaunches() -> the launches recorded since, "name,gridX,gridY,firstWord" a line
napi_value Fp8TimelineLaunches(napi_env env, napi_callback_info) {
  const std::string lines = fp8TimelineLaunches();
  napi_value v;
  napi_create_string_utf8(env, lines.data(), lines.size(), &v);
  return v;
}

}  // namespace

void registerFp8Kernels(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
    {"quantizeFp8", nullptr, QuantizeFp8, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"linearFp8", nullptr, LinearFp8, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"moeFp8ScratchBytes", nullptr, MoeFp8ScratchBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"moeTop1SigmoidFp8", nullptr, MoeTop1SigmoidFp8, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"moeFp8SharedFold", nullptr, MoeFp8SharedFold, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"moeFp8SharedScratchBytes", nullptr, MoeFp8SharedScratchBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"moeTop1SigmoidFp8Shared", nullptr, MoeTop1SigmoidFp8Shared, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8MoeSharedFold", nullptr, intSetter<setFp8MoeSharedFold>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8StreamBatch", nullptr, intSetter<setFp8StreamBatch>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8PrefetchBudget", nullptr, intSetter<setFp8PrefetchBudget>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8QuantizeInProduct", nullptr, intSetter<setFp8QuantizeInProduct>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"fp8QuantizeInProduct", nullptr, Fp8QuantizeInProduct, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8GroupedMma", nullptr, intSetter<setFp8GroupedMma>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8ProductOnTensorCores", nullptr, intSetter<setFp8ProductOnTensorCores>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8BulkRows", nullptr, intSetter<setFp8BulkRows>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"fp8ProductOnTensorCores", nullptr, Fp8ProductOnTensorCores, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setFp8Timeline", nullptr, SetFp8Timeline, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"fp8TimelineLaunches", nullptr, Fp8TimelineLaunches, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace iris::napi
