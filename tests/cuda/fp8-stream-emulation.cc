// Runs the quantizing FP8 product itself (native/cuda/include/fp8_quantizing.cuh with both weight streamings,
// fp8_stream.cuh's WarpPerRow on the CUDA cores and fp8_stream_mma.cuh's MmaRows on the tensor cores, compiled here as
// plain C++) on the cpu, its launcher included: quantizingRows picks the variant and the resident-wave grid and launches
// through launchDependent, whose cudaLaunchKernelEx here runs the grid's blocks one after another in a scrambled
// order, each as 256 fibers (ucontext) switched only at barriers: __syncthreads a block barrier, shuffles, ballots and
// mma.m16n8k32 (E4M3) warp rendezvous, the mma from the PTX ISA's fragment table (ptx-emulation.h). __shared__
// variables are thread_local: every fiber of the one block running shares them. Two multiprocessors of one block each,
// so every block streams several passes. Checks x's quantization in the block, the K slices (K not a multiple of 64,
// warps with no slice), rows past N, 1 to 4 tokens, experts found through offsets and rows scattered through rowMap,
// against a float64 reference of the dequantized product. It cannot see races or timing: the GPU tests' job.
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/fp8-stream-emulation.cc
// (tests/cuda/fp8-stream-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#include "fp8-stream-emulated-device.h"  // before the kernel header: it defines the emulated device
#include "fp8_quantizing.cuh"

// ==== cases ====

namespace {

struct Case {
  const char* name;
  int T, K, N;
  int E = 1;                  // experts; more than one: rows grouped by `experts` (each row's expert, ascending)
  std::vector<int> experts;   // the expert of each row (E > 1)
  std::vector<int> rowMap;    // out row of each row, or empty
  bool bias = false, bf16 = false, unaligned = false, routingBeforeWait = false;
};

float e4m3Value(uint8_t byte) {  // through cuda_fp8.h's host conversion, apart from ptx-emulation.h's decoder
  const __half_raw h = __nv_cvt_fp8_to_halfraw(__nv_fp8_storage_t(byte), __NV_E4M3);
  return __half2float(__half(h));
}

// Runs case c on the streaming chosen (bulk: BulkRows where it serves, tensor cores only) against the float64
// reference; with `bits`, its output's bytes there too.
template <typename OutT>
bool runCase(const Case& c, bool tensorCores, int batch, bool bulk = false, std::vector<uint8_t>* bits = nullptr) {
  iris::fp8stream::tensorCores = tensorCores;
  iris::fp8stream::bulkRows = bulk;
  iris::fp8stream::batch = batch;
  const int T = c.T, K = c.K, N = c.N, E = c.E;
  // Weights: random E4M3 bytes but NaN; x: a float row, one outlier setting its scale, rounded to OutT.
  std::vector<uint8_t> w(size_t(E) * N * K);
  for (auto& b : w) do b = uint8_t(emulation::uniform() * 256); while ((b & 0x7f) == 0x7f);
  std::vector<float> wScale(size_t(E) * N), bias(N);
  for (auto& s : wScale) s = (0.5f + emulation::uniform()) / 448;
  for (auto& b : bias) b = iris::toFloat(iris::fromFloat<OutT>(emulation::uniform() - 0.5f));
  std::vector<OutT> x(size_t(T) * K + 1);
  OutT* xRows = x.data() + (c.unaligned ? 1 : 0);
  for (size_t i = 0; i < size_t(T) * K; i++) xRows[i] = iris::fromFloat<OutT>(4 * emulation::uniform() - 2);
  for (int t = 0; t < T; t++) xRows[size_t(t) * K + (7 * t) % K] = iris::fromFloat<OutT>(20.f + t);
  std::vector<OutT> biasOut(N);
  for (int n = 0; n < N; n++) biasOut[n] = iris::fromFloat<OutT>(bias[n]);
  std::vector<int> offsets(E + 1, 0);
  for (int e : c.experts) offsets[e + 1]++;
  for (int e = 0; e < E; e++) offsets[e + 1] += offsets[e];
  std::vector<OutT> out(size_t(T) * N, iris::fromFloat<OutT>(NAN));  // rows never written show

  iris::Fp8RowsArgs g;
  g.outDtype = std::is_same_v<OutT, float> ? iris::kF32 : iris::kBF16;
  g.xDtype = g.outDtype;
  g.out = out.data();
  g.x = xRows;
  g.w = w.data();
  g.wScale = wScale.data();
  g.bias = c.bias ? biasOut.data() : nullptr;
  g.offsets = E > 1 ? offsets.data() : nullptr;
  g.rowMap = c.rowMap.empty() ? nullptr : c.rowMap.data();
  g.T = T;
  g.K = K;
  g.N = N;
  g.E = E;
  const std::string status = iris::fp8stream::quantizingRows<OutT>(
      g, iris::fp8stream::FloatRows<OutT>{xRows, size_t(K), !c.unaligned}, c.routingBeforeWait);
  if (!status.empty()) {
    std::printf("FAIL %s: %s\n", c.name, status.c_str());
    return false;
  }

  // float64 reference: x quantized as quantizeFp8 does (fp32 scale and division, E4M3 round to nearest even), both
  // operands dequantized, the scales and the bias after.
  std::vector<double> ref(size_t(T) * N);
  for (int p = 0; p < T; p++) {
    const int e = E > 1 ? c.experts[p] : 0;
    float amax = 0;
    for (int k = 0; k < K; k++) amax = std::max(amax, std::fabs(iris::toFloat(xRows[size_t(p) * K + k])));
    const float scale = std::max(amax / 448.f, 1.17549435e-38f);
    std::vector<double> xq(K);
    for (int k = 0; k < K; k++) {
      const float v = iris::toFloat(xRows[size_t(p) * K + k]) / scale;
      xq[k] = e4m3Value(uint8_t(__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3)));
    }
    for (int n = 0; n < N; n++) {
      double dot = 0;
      for (int k = 0; k < K; k++) dot += double(e4m3Value(w[(size_t(e) * N + n) * K + k])) * xq[k];
      ref[size_t(p) * N + n] = dot * scale * wScale[size_t(e) * N + n] + (c.bias ? bias[n] : 0.0);
    }
  }
  // Each value within the output's rounding (fp32 sums: 1e-5; bf16: 8e-3) of its magnitude or the outputs' rms.
  double diff = 0, norm = 0, maxErr = 0;
  for (double r : ref) norm += r * r;
  const double rms = std::sqrt(norm / double(ref.size())), tolerance = std::is_same_v<OutT, float> ? 1e-5 : 8e-3;
  std::string firstBad;
  for (int p = 0; p < T; p++) {
    const int row = c.rowMap.empty() ? p : c.rowMap[p];
    for (int n = 0; n < N; n++) {
      const double expected = ref[size_t(p) * N + n], got = iris::toFloat(out[size_t(row) * N + n]);
      const double err = std::fabs(got - expected);
      diff += err * err;
      if (!(err <= maxErr)) maxErr = err;
      if (!(err <= tolerance * (std::fabs(expected) + rms)) && firstBad.empty()) {
        char text[160];
        std::snprintf(text, sizeof text, "  first bad: row %d channel %d: %g vs %g\n", p, n, got, expected);
        firstBad = text;
      }
    }
  }
  if (bits != nullptr) {
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(out.data());
    bits->assign(bytes, bytes + out.size() * sizeof(OutT));
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-30));
  const bool ok = rel <= (std::is_same_v<OutT, float> ? 1e-6 : 4e-3) && firstBad.empty();
  std::printf("%s %s, %s, %d loads a lane: relative L2 %.2e, max |err| %.2e\n%s", ok ? "ok  " : "FAIL", c.name,
              !tensorCores ? "CUDA cores" : bulk ? "tensor cores by bulk copies" : "tensor cores", batch ? batch : 4, rel,
              maxErr, firstBad.c_str());
  return ok;
}

}  // namespace

int main() {
  std::vector<Case> f32 = {
      {"T=1 K=1024 N=200 (N not a multiple of 16)", 1, 1024, 200},
      {"T=2 K=1040 N=40 (K 16 past a multiple of 64), bias", 2, 1040, 40},
      {"T=3 K=336 N=24 (6 steps of 64: warps with no slice)", 3, 336, 24},
      {"T=4 K=16 N=33 (one chunk a row), bias", 4, 16, 33},
      {"T=2 K=1024 N=48, x off 16 bytes", 2, 1024, 48},
  };
  f32[1].bias = f32[3].bias = true;
  f32[4].unaligned = true;
  // Experts: rows grouped by expert (0; 3, 3; 4 of 5: experts 1 and 2 have none), scattered back by rowMap.
  Case experts{"T=4 experts 0,3,3,4 of 5, K=1040 N=40, rows scattered", 4, 1040, 40, 5, {0, 3, 3, 4}, {2, 0, 3, 1}};
  Case early = experts;
  early.name = "the same, the expert found before the wait";
  early.routingBeforeWait = true;
  f32.push_back(experts);
  f32.push_back(early);
  Case bf16{"bf16 T=1 K=2048 N=64, bias", 1, 2048, 64};
  bf16.bias = bf16.bf16 = true;

  bool ok = true;
  for (bool tensorCores : {false, true}) {
    for (const Case& c : f32) ok &= runCase<float>(c, tensorCores, 0);
    for (int batch : {0, 8, 16}) ok &= runCase<__nv_bfloat16>(bf16, tensorCores, batch);  // forced only at one bf16 row
  }
  // BulkRows takes MmaRows's K slices and sums in the same order: the same bits, tile by tile.
  auto sameBits = [&](auto run, const char* name) {
    std::vector<uint8_t> registers, bulk;
    const uint32_t seed = emulation::seed;  // both runs draw the same inputs
    bool both = run(false, &registers);
    emulation::seed = seed;
    both &= run(true, &bulk);
    const bool same = both && registers == bulk;
    std::printf("%s %s: by bulk copies %s the bits of the register streaming\n", same ? "ok  " : "FAIL", name,
                same ? "gives" : "does not give");
    return same;
  };
  for (const Case& c : f32) {
    ok &= sameBits([&](bool bulk, std::vector<uint8_t>* bits) { return runCase<float>(c, true, 0, bulk, bits); }, c.name);
  }
  ok &= sameBits([&](bool bulk, std::vector<uint8_t>* bits) { return runCase<__nv_bfloat16>(bf16, true, 0, bulk, bits); },
                 bf16.name);
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
