// Runs Llama 4's shared expert folded into the routed experts' decode products (native/cuda/include/
// fp8_shared_expert.cuh: gate|up with the shared expert as one more group of blocks, then both downs summed in one
// epilogue), its launchers included, on the cpu as tests/cuda/fp8-stream-emulation.cc runs the quantizing product
// (fibers for threads, blocks in a scrambled order, mma.m16n8k32 over E4M3 from the PTX ISA's table), with both weight
// streamings, against the kernels it replaces run the same way: the routed gate|up and down (quantizingRows with the
// MoE's prologues), the shared expert's gate|up and down (quantizingRows on x and on its activation) and the add,
// output for output, bit for bit (the fold promises the seven kernels' bits). Outputs start as NaN, so a row never
// written shows. Experts with no rows, several rows an expert, K not a multiple of 64; F32 and bf16.
//
//   c++ -std=c++17 -O1 -w -I$CUDA_HOME/include -Inative/cuda/include tests/cuda/fp8-shared-expert-emulation.cc
// (tests/cuda/fp8-shared-expert-emulation.test.ts does this where the CUDA headers are.) Prints one line a case.
#include "fp8-stream-emulated-device.h"  // before the kernel header: it defines the emulated device
#include "fp8_shared_expert.cuh"

// ==== cases ====

namespace {

using iris::Fp8RowsArgs;
namespace fs = iris::fp8stream;

struct Case {
  const char* name;
  int H, I, E;
  std::vector<int> expertOf;  // each token's expert (T = its size)
};

template <typename OutT>
std::vector<OutT> randomRows(size_t n, float lo, float hi) {
  std::vector<OutT> v(n);
  for (auto& x : v) x = iris::fromFloat<OutT>(lo + (hi - lo) * emulation::uniform());
  return v;
}

std::vector<uint8_t> randomE4m3(size_t n) {  // any byte but NaN
  std::vector<uint8_t> w(n);
  for (auto& b : w) do b = uint8_t(emulation::uniform() * 256); while ((b & 0x7f) == 0x7f);
  return w;
}

std::vector<float> randomScales(size_t n) {
  std::vector<float> s(n);
  for (auto& v : s) v = (0.5f + emulation::uniform()) / 448;
  return s;
}

// bulk: the tensor-core products by bulk copies where they serve (the separate ones; the folded products stream two
// matrices a block, as MmaRows), which must still agree bit for bit.
template <typename OutT>
bool runCase(const Case& c, bool tensorCores, bool bulk = false) {
  fs::tensorCores = tensorCores;
  fs::bulkRows = bulk;
  const int T = int(c.expertOf.size()), H = c.H, I = c.I, E = c.E;
  std::vector<OutT> x = randomRows<OutT>(size_t(T) * H, -2, 2);
  for (int t = 0; t < T; t++) x[size_t(t) * H + (5 * t) % H] = iris::fromFloat<OutT>(12.f + t);  // an outlier sets the scale
  std::vector<float> score(T);
  for (auto& s : score) s = iris::toFloat(iris::fromFloat<OutT>(0.1f + 0.8f * emulation::uniform()));
  // The routing tables as moeRoute writes them: offsets by expert, perm listing each expert's tokens in order.
  std::vector<int> offsets(E + 1, 0), perm;
  for (int e : c.expertOf) offsets[e + 1]++;
  for (int e = 0; e < E; e++) offsets[e + 1] += offsets[e];
  for (int e = 0; e < E; e++) {
    for (int t = 0; t < T; t++) if (c.expertOf[t] == e) perm.push_back(t);
  }
  const std::vector<uint8_t> gateUp = randomE4m3(size_t(E) * 2 * I * H), down = randomE4m3(size_t(E) * H * I);
  const std::vector<uint8_t> sharedGateUp = randomE4m3(size_t(2) * I * H), sharedDown = randomE4m3(size_t(H) * I);
  const std::vector<float> gateUpScale = randomScales(size_t(E) * 2 * I), downScale = randomScales(size_t(E) * H);
  const std::vector<float> sharedGateUpScale = randomScales(size_t(2) * I), sharedDownScale = randomScales(H);
  const OutT nan = iris::fromFloat<OutT>(NAN);
  std::vector<OutT> act(size_t(T) * I, nan), actShared(act), out(size_t(T) * H, nan);
  std::vector<OutT> hSeparate(size_t(T) * 2 * I, nan), hSharedSeparate(hSeparate), routed(out), shared(out);

  Fp8RowsArgs g;
  g.outDtype = std::is_same_v<OutT, float> ? iris::kF32 : iris::kBF16;
  g.offsets = offsets.data();
  g.T = T;
  g.E = E;
  Fp8RowsArgs gateUpRows = g, downRows = g;
  gateUpRows.w = gateUp.data(); gateUpRows.wScale = gateUpScale.data(); gateUpRows.out = hSeparate.data(); gateUpRows.K = H;
  gateUpRows.N = 2 * I;
  downRows.w = down.data(); downRows.wScale = downScale.data(); downRows.out = out.data(); downRows.rowMap = perm.data();
  downRows.K = I; downRows.N = H;
  Fp8RowsArgs sharedGateUpRows = gateUpRows, sharedDownRows = downRows;
  for (Fp8RowsArgs* s : {&sharedGateUpRows, &sharedDownRows}) {
    s->offsets = nullptr;
    s->rowMap = nullptr;
    s->E = 1;
  }
  sharedGateUpRows.w = sharedGateUp.data(); sharedGateUpRows.wScale = sharedGateUpScale.data(); sharedGateUpRows.out = hSharedSeparate.data();
  sharedDownRows.w = sharedDown.data(); sharedDownRows.wScale = sharedDownScale.data(); sharedDownRows.out = nullptr;

  // The fold: two launches, gate|up over the matrices' halves writing the activations (fp8_moe.cu's runWithShared).
  const fs::GatheredRows<OutT> gathered{x.data(), perm.data(), score.data(), size_t(H), true};
  const fs::FloatRows<OutT> plain{x.data(), size_t(H), true};
  std::string status = fs::sharedExpertRefusal(gateUpRows, downRows);
  if (status.empty()) {
    status = fs::sharedExpertRows<OutT, false>(fs::gatedHalves(gateUpRows, act.data()),
                                               fs::gatedHalves(sharedGateUpRows, actShared.data()), gathered, plain);
  }
  if (status.empty()) {
    status = fs::sharedExpertRows<OutT, true>(downRows, sharedDownRows, fs::PermutedRows<OutT>{act.data(), size_t(I)},
                                              fs::PermutedRows<OutT>{actShared.data(), size_t(I), perm.data()});
  }
  // The kernels it replaces (gate|up, siluAndMul + quantizing as the quantizing products' ActivatedRows do it), then
  // the add.
  Fp8RowsArgs a = gateUpRows, b = sharedGateUpRows, d = downRows, sd = sharedDownRows;
  d.out = routed.data();
  sd.out = shared.data();
  if (status.empty()) status = fs::quantizingRows<OutT>(a, gathered);
  if (status.empty()) status = fs::quantizingRows<OutT>(b, plain);
  if (status.empty()) status = fs::quantizingRows<OutT>(d, fs::ActivatedRows<OutT>{hSeparate.data(), size_t(I)}, true);
  if (status.empty()) status = fs::quantizingRows<OutT>(sd, fs::ActivatedRows<OutT>{hSharedSeparate.data(), size_t(I)});
  if (!status.empty()) {
    std::printf("FAIL %s: %s\n", c.name, status.c_str());
    return false;
  }
  auto bits = [](OutT v) {
    uint32_t u = 0;
    std::memcpy(&u, &v, sizeof v);
    return u;
  };
  int mismatches = 0, unwritten = 0;
  std::string firstBad;
  auto compare = [&](const char* what, const std::vector<OutT>& got, const std::vector<OutT>& expected) {
    for (size_t i = 0; i < got.size(); i++) {
      if (std::isnan(iris::toFloat(got[i]))) unwritten++;
      if (bits(got[i]) == bits(expected[i])) continue;
      if (mismatches++ == 0) {
        char text[160];
        std::snprintf(text, sizeof text, "  first bad: %s[%zu]: %g vs %g\n", what, i, iris::toFloat(got[i]), iris::toFloat(expected[i]));
        firstBad = text;
      }
    }
  };
  std::vector<OutT> sum(out.size());
  for (size_t i = 0; i < sum.size(); i++) sum[i] = iris::fromFloat<OutT>(iris::toFloat(shared[i]) + iris::toFloat(routed[i]));
  // siluAndMul of the separate gate|ups' outputs (elementwise.cu: each rounded product, siluTimes, rounded).
  auto activated = [&](const std::vector<OutT>& h) {
    std::vector<OutT> a(size_t(T) * I);
    for (int t = 0; t < T; t++) {
      for (int n = 0; n < I; n++) {
        const float gate = iris::toFloat(h[size_t(t) * 2 * I + n]), up = iris::toFloat(h[size_t(t) * 2 * I + I + n]);
        a[size_t(t) * I + n] = iris::fromFloat<OutT>(iris::siluTimes(gate, up));
      }
    }
    return a;
  };
  compare("act", act, activated(hSeparate));
  compare("act shared", actShared, activated(hSharedSeparate));
  compare("out", out, sum);
  const bool ok = mismatches == 0 && unwritten == 0;
  std::printf("%s %s, %s, %s: %d values differ, %d unwritten\n%s", ok ? "ok  " : "FAIL", c.name,
              std::is_same_v<OutT, float> ? "F32" : "bf16",
              !tensorCores ? "CUDA cores" : bulk ? "tensor cores, bulk copies" : "tensor cores", mismatches, unwritten,
              firstBad.c_str());
  return ok;
}

}  // namespace

int main() {
  const std::vector<Case> cases = {
      {"T=1 H=528 I=208 (K 16 past 64s; warps with no slice), expert 2 of 4", 528, 208, 4, {2}},
      {"T=2 H=256 I=320, both tokens on expert 1 of 3", 256, 320, 3, {1, 1}},
      {"T=3 H=336 I=144, experts 3, 0, 3 of 5 (rows scattered)", 336, 144, 5, {3, 0, 3}},
      {"T=4 H=128 I=208, experts 4, 1, 4, 2 of 5", 128, 208, 5, {4, 1, 4, 2}},
  };
  bool ok = true;
  for (bool tensorCores : {false, true}) {
    for (const Case& c : cases) {
      ok &= runCase<float>(c, tensorCores);
      ok &= runCase<__nv_bfloat16>(c, tensorCores);
    }
  }
  for (const Case& c : cases) {
    ok &= runCase<float>(c, true, true);
    ok &= runCase<__nv_bfloat16>(c, true, true);
  }
  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
