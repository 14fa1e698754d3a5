// N-API bindings of the kernel launchers: each reads its numeric arguments in the order of iris_cuda.h and
// returns the launcher's status. Shapes were checked by src/kernels and src/runtime/cuda before the call.
#include "napi_util.h"

namespace iris::napi {

namespace {

napi_value Fill(napi_env env, napi_callback_info info) {
  ARGS(4);
  return result(env, fill(int(a[0]), ptr(a[1]), sz(a[2]), a[3]));
}
napi_value FillUniform(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, fillUniform(int(a[0]), ptr(a[1]), sz(a[2]), uint32_t(a[3]), float(a[4]), float(a[5])));
}
napi_value Cast(napi_env env, napi_callback_info info) {
  ARGS(5);
  return result(env, cast(int(a[0]), ptr(a[1]), int(a[2]), ptr(a[3]), sz(a[4])));
}
napi_value Add(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, add(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), sz(a[4]), sz(a[5])));
}
napi_value Mul(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, mul(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), sz(a[4]), sz(a[5])));
}
napi_value ScaleRows(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, scaleRows(int(a[0]), ptr(a[1]), ptr(a[2]), ptr<float>(a[3]), sz(a[4]), sz(a[5])));
}
napi_value SiluAndMul(napi_env env, napi_callback_info info) {
  ARGS(5);
  return result(env, siluAndMul(int(a[0]), ptr(a[1]), ptr(a[2]), sz(a[3]), sz(a[4])));
}
napi_value Gelu(napi_env env, napi_callback_info info) {
  ARGS(4);
  return result(env, gelu(int(a[0]), ptr(a[1]), ptr(a[2]), sz(a[3])));
}
napi_value GatherRows(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, gatherRows(ptr(a[0]), ptr(a[1]), ptr<int32_t>(a[2]), sz(a[3]), sz(a[4]), sz(a[5])));
}
napi_value ScatterRows(napi_env env, napi_callback_info info) {
  ARGS(6);
  return result(env, scatterRows(ptr(a[0]), ptr<int32_t>(a[1]), ptr(a[2]), sz(a[3]), sz(a[4]), sz(a[5])));
}
napi_value StoreKV(napi_env env, napi_callback_info info) {
  ARGS(8);
  return result(env, storeKV(ptr(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr<int32_t>(a[4]), sz(a[5]), sz(a[6]), sz(a[7])));
}
napi_value Linear(napi_env env, napi_callback_info info) {
  ARGS(8);
  return result(env, linear(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), sz(a[5]), sz(a[6]), sz(a[7])));
}
// linearSiluAndMulFuses(dtype, out, x, w, T, K, I) -> 1 or 0
napi_value LinearSiluAndMulFuses(napi_env env, napi_callback_info info) {
  ARGS(7);
  return number(env, linearSiluAndMulFuses(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), sz(a[4]), sz(a[5]), sz(a[6])) ? 1 : 0);
}
napi_value LinearSiluAndMul(napi_env env, napi_callback_info info) {
  ARGS(8);
  return result(env, linearSiluAndMul(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), sz(a[5]), sz(a[6]), sz(a[7])));
}
napi_value SkinnyFusions(napi_env env, napi_callback_info info) {
  ARGS(3);
  return number(env, skinnyFusions(int(a[0]), sz(a[1]), sz(a[2])) ? 1 : 0);
}
// 1 having enqueued the fused kernel, 0 where it does not fuse these operands (nothing enqueued); throws on a failure.
napi_value Fused(napi_env env, bool fused, const std::string& status) {
  return status.empty() ? number(env, fused ? 1 : 0) : fail(env, status);
}
// rmsNormLinear(dtype, out, x, normWeight, eps, w, bias, T, K, N, gated) -> 1 or 0
napi_value RmsNormLinear(napi_env env, napi_callback_info info) {
  ARGS(11);
  std::string status;
  const bool fused = rmsNormLinear(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), float(a[4]), ptr(a[5]), ptr(a[6]), sz(a[7]), sz(a[8]),
                                   sz(a[9]), a[10] != 0, &status);
  return Fused(env, fused, status);
}
// linearAddResidual(dtype, residual, x, w, bias, T, K, N) -> 1 or 0
napi_value LinearAddResidual(napi_env env, napi_callback_info info) {
  ARGS(8);
  std::string status;
  const bool fused = linearAddResidual(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), sz(a[5]), sz(a[6]), sz(a[7]), &status);
  return Fused(env, fused, status);
}
napi_value RmsNorm(napi_env env, napi_callback_info info) {
  ARGS(7);
  return result(env, rmsNorm(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), sz(a[4]), sz(a[5]), float(a[6])));
}
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  ARGS(8);
  return result(env, layerNorm(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), sz(a[5]), sz(a[6]), float(a[7])));
}
napi_value Softmax(napi_env env, napi_callback_info info) {
  ARGS(5);
  return result(env, softmax(int(a[0]), ptr(a[1]), ptr(a[2]), sz(a[3]), sz(a[4])));
}
napi_value AddRmsNorm(napi_env env, napi_callback_info info) {
  ARGS(8);
  return result(env, addRmsNorm(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), sz(a[5]), sz(a[6]), float(a[7])));
}
// rotaryStoreKV(dtype, q, kCache, vCache, qkv, cos, sin, slots, T, Hq, Hk, D, R, interleaved, numSlots)
napi_value RotaryStoreKV(napi_env env, napi_callback_info info) {
  ARGS(17);
  return result(env, rotaryStoreKV(int(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]), ptr(a[4]), ptr<float>(a[5]), ptr<float>(a[6]),
                                   ptr<int32_t>(a[7]), sz(a[8]), int(a[9]), int(a[10]), int(a[11]), int(a[12]), a[13] != 0, sz(a[14]),
                                   float(a[15]), ptr<float>(a[16])));
}
napi_value RopeCosSin(napi_env env, napi_callback_info info) {
  ARGS(8);
  return result(env, ropeCosSin(ptr<float>(a[0]), ptr<float>(a[1]), ptr<int32_t>(a[2]), ptr<float>(a[3]), ptr<int32_t>(a[4]),
                                sz(a[5]), sz(a[6]), sz(a[7])));
}
// applyRotary(dtype, x, y, cos, sin, T, headsX, headsY, D, R, interleaved)
napi_value ApplyRotary(napi_env env, napi_callback_info info) {
  ARGS(11);
  return result(env, applyRotary(int(a[0]), ptr(a[1]), ptr(a[2]), ptr<float>(a[3]), ptr<float>(a[4]), sz(a[5]), sz(a[6]),
                                 sz(a[7]), sz(a[8]), sz(a[9]), a[10] != 0));
}
// attention(dtype, out, q, k, v, queryStart, kvLens, pageTable, tokens, S, Hq, Hk, D, maxPages, pageSize, numSlots,
//           maxQueryLen, maxKvLen, scale, causal, chunkSize, paged, forceSplits)
napi_value Attention(napi_env env, napi_callback_info info) {
  ARGS(23);
  AttentionArgs args;
  args.dtype = int(a[0]);
  args.out = ptr(a[1]);
  args.q = ptr(a[2]);
  args.k = ptr(a[3]);
  args.v = ptr(a[4]);
  args.queryStart = ptr<const int32_t>(a[5]);
  args.kvLens = ptr<const int32_t>(a[6]);
  args.pageTable = ptr<const int32_t>(a[7]);
  args.tokens = int(a[8]);
  args.S = int(a[9]);
  args.Hq = int(a[10]);
  args.Hk = int(a[11]);
  args.D = int(a[12]);
  args.maxPages = int(a[13]);
  args.pageSize = int(a[14]);
  args.numSlots = int(a[15]);
  args.maxQueryLen = int(a[16]);
  args.maxKvLen = int(a[17]);
  args.scale = float(a[18]);
  args.causal = a[19] != 0;
  args.chunkSize = int(a[20]);
  args.paged = a[21] != 0;
  args.forceSplits = int(a[22]);
  return result(env, attention(args));
}
// The varlen call of attentionQKV: a[0..8] = dtype, out, qkv, queryStart, T, S, Hq, Hk, D; a[9..11] = maxQueryLen,
// scale, causal.
AttentionArgs qkvAttentionArgs(const double* a) {
  AttentionArgs args;
  args.dtype = int(a[0]);
  args.out = ptr(a[1]);
  args.queryStart = ptr<const int32_t>(a[3]);
  args.tokens = int(a[4]);
  args.S = int(a[5]);
  args.Hq = int(a[6]);
  args.Hk = int(a[7]);
  args.D = int(a[8]);
  args.maxQueryLen = args.maxKvLen = int(a[9]);
  args.scale = float(a[10]);
  args.causal = a[11] != 0;
  return args;
}
// attentionQKVApplies(dtype, out, qkv, queryStart, T, S, Hq, Hk, D, maxQueryLen, scale, causal) -> 1 or 0
napi_value AttentionQKVApplies(napi_env env, napi_callback_info info) {
  ARGS(12);
  return number(env, attentionQKVApplies(qkvAttentionArgs(a), ptr(a[2])) ? 1 : 0);
}
// attentionQKV(dtype, out, qkv, queryStart, T, S, Hq, Hk, D, maxQueryLen, scale, causal, cos, sin, R, interleaved)
napi_value AttentionQKV(napi_env env, napi_callback_info info) {
  ARGS(16);
  return result(env, attentionQKV(qkvAttentionArgs(a), ptr(a[2]), ptr<float>(a[12]), ptr<float>(a[13]), int(a[14]), a[15] != 0));
}
napi_value SetAttentionMma(napi_env env, napi_callback_info info) {
  ARGS(1);
  setAttentionMmaEnabled(a[0] != 0);
  return undefinedValue(env);
}
napi_value Argmax(napi_env env, napi_callback_info info) {
  ARGS(5);
  return result(env, argmax(int(a[0]), ptr<int32_t>(a[1]), ptr(a[2]), sz(a[3]), sz(a[4])));
}
napi_value ApplyPenalties(napi_env env, napi_callback_info info) {
  ARGS(9);
  return result(env, applyPenalties(ptr<float>(a[0]), ptr<int32_t>(a[1]), ptr<int32_t>(a[2]), ptr<int32_t>(a[3]),
                                    ptr<float>(a[4]), ptr<float>(a[5]), ptr<float>(a[6]), sz(a[7]), sz(a[8])));
}
napi_value ApplyTokenMask(napi_env env, napi_callback_info info) {
  ARGS(7);
  return result(env, applyTokenMask(ptr<float>(a[0]), ptr<int32_t>(a[1]), ptr<int32_t>(a[2]), sz(a[3]), sz(a[4]), sz(a[5]),
                                    sz(a[6])));
}
napi_value Sample(napi_env env, napi_callback_info info) {
  ARGS(9);
  return result(env, sample(ptr<int32_t>(a[0]), ptr<float>(a[1]), ptr<float>(a[2]), ptr<int32_t>(a[3]), ptr<float>(a[4]),
                            ptr<float>(a[5]), ptr<float>(a[6]), sz(a[7]), sz(a[8])));
}

napi_value PatchifyImage(napi_env env, napi_callback_info info) {
  ARGS(9);
  return result(env, patchifyImage(int(a[0]), ptr(a[1]), ptr(a[2]), ptr<float>(a[3]), int(a[4]), int(a[5]), int(a[6]),
                                   int(a[7]), int(a[8])));
}
napi_value ResizeImage(napi_env env, napi_callback_info info) {
  ARGS(13);
  ResizeImageArgs r;
  r.out = ptr(a[0]);
  r.pixels = ptr(a[1]);
  r.scratch = ptr(a[2]);
  r.srcWidth = int(a[3]), r.srcHeight = int(a[4]), r.width = int(a[5]), r.height = int(a[6]);
  r.hTable = ptr<const int32_t>(a[7]), r.hTaps = int(a[8]), r.hPrecision = int(a[9]);
  r.vTable = ptr<const int32_t>(a[10]), r.vTaps = int(a[11]), r.vPrecision = int(a[12]);
  return result(env, resizeImage(r));
}

}  // namespace

void registerKernels(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
    {"fill", nullptr, Fill, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"fillUniform", nullptr, FillUniform, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"cast", nullptr, Cast, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"add", nullptr, Add, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"mul", nullptr, Mul, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"scaleRows", nullptr, ScaleRows, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"siluAndMul", nullptr, SiluAndMul, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"gelu", nullptr, Gelu, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"gatherRows", nullptr, GatherRows, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"scatterRows", nullptr, ScatterRows, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"storeKV", nullptr, StoreKV, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"linear", nullptr, Linear, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"linearSiluAndMulFuses", nullptr, LinearSiluAndMulFuses, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"linearSiluAndMul", nullptr, LinearSiluAndMul, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"skinnyFusions", nullptr, SkinnyFusions, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"rmsNormLinear", nullptr, RmsNormLinear, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"linearAddResidual", nullptr, LinearAddResidual, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setGemv", nullptr, intSetter<setGemvMode>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setGemvSplit", nullptr, intSetter<setGemvSplit>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionParts", nullptr, intSetter<setDecodeAttentionParts>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionLanesPerKey", nullptr, intSetter<setDecodeAttentionLanesPerKey>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionMma", nullptr, intSetter<setDecodeAttentionMma>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionTensorCores", nullptr, intSetter<setDecodeAttentionTensorCores>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionMmaWarps", nullptr, intSetter<setDecodeAttentionMmaWarps>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionMmaStages", nullptr, intSetter<setDecodeAttentionMmaStages>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionClusterMerge", nullptr, intSetter<setDecodeAttentionClusterMerge>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setDecodeAttentionClusterSplitKeys", nullptr, intSetter<setDecodeAttentionClusterSplitKeys>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"rmsNorm", nullptr, RmsNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"layerNorm", nullptr, LayerNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"addRmsNorm", nullptr, AddRmsNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"rotaryStoreKV", nullptr, RotaryStoreKV, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setRotaryStoreKVVec16", nullptr, intSetter<setRotaryStoreKVVec16>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ropeCosSin", nullptr, RopeCosSin, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"applyRotary", nullptr, ApplyRotary, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"attention", nullptr, Attention, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setAttentionMma", nullptr, SetAttentionMma, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"attentionQKVApplies", nullptr, AttentionQKVApplies, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"attentionQKV", nullptr, AttentionQKV, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setAttentionQKVInPlace", nullptr, intSetter<setAttentionQKVInPlace>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setAttentionWindows", nullptr, intSetter<setAttentionWindows>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setAttentionWindowHeads", nullptr, intSetter<setAttentionWindowHeads>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"argmax", nullptr, Argmax, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setArgmaxVec16", nullptr, intSetter<setArgmaxVec16>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"applyPenalties", nullptr, ApplyPenalties, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"applyTokenMask", nullptr, ApplyTokenMask, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"sample", nullptr, Sample, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"patchifyImage", nullptr, PatchifyImage, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"resizeImage", nullptr, ResizeImage, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  registerLogprobMoeKernels(env, exports);
  registerFp8Kernels(env, exports);
}

}  // namespace iris::napi
