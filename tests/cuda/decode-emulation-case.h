// One decode-attention case for the cpu emulations of the two decode kernels (attention-decode-emulation.cc: the
// CUDA cores, attention-decode-mma-emulation.cc: the tensor cores): one query a sequence at its last position, random
// bf16 queries, keys and values (never zeros) on pages scattered over the cache, the AttentionArgs a launcher takes,
// and the float64 reference the outputs are checked against, absent keys left out. Included after the kernel's
// source (iris_cuda.h's AttentionArgs; emulation-values.h's helpers).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace decode_case {

struct Case {
  const char* name;
  std::vector<int> kvLens;  // one query a sequence, at the last position
  int Hq, Hk, D, pageSize, chunk;
  int launchKvLen;  // the launch bound (the engine's: the context length); 0: the longest of kvLens
  int splits;       // forced splits, 0: the kernel's own
  bool holes = false;  // sequence 0's second page absent (-1) and slots from the last key of the last sequence on past
                       // numSlots
};

// A case's inputs and output, and the arguments pointing at them (kept alive together).
struct Inputs {
  std::vector<int> starts;
  emulation::ScrambledPages pages;
  int numSlots = 0;
  std::vector<uint16_t> q, k, v, out;
  iris::AttentionArgs args{};
};

inline void fill(const Case& c, Inputs& in) {
  const int S = int(c.kvLens.size()), D = c.D;
  in.starts = {0};
  for (int s = 0; s < S; s++) in.starts.push_back(s + 1);
  // Every slot holds random keys, absent ones too (they must not count).
  in.pages = emulation::scrambledPages(c.kvLens, c.pageSize);
  const int keyRows = in.pages.numPages * c.pageSize;
  in.numSlots = keyRows;
  if (c.holes) {  // sequence 0's second page absent; the cache ends inside the last sequence's last page
    in.pages.table[1] = -1;
    const int last = S - 1, lastLen = c.kvLens[last];
    in.numSlots = in.pages.table[size_t(last) * in.pages.maxPages + (lastLen - 1) / c.pageSize] * c.pageSize + (lastLen - 1) % c.pageSize;
  }
  in.q = emulation::randomBf16(size_t(S) * c.Hq * D, -2, 2);
  in.k = emulation::randomBf16(size_t(keyRows) * c.Hk * D, -2, 2);
  in.v = emulation::randomBf16(size_t(keyRows) * c.Hk * D, -1, 1);
  in.out.assign(size_t(S) * c.Hq * D, 0x7fc0);  // NaN: rows never written show
  int maxKv = c.launchKvLen;
  for (int n : c.kvLens) maxKv = std::max(maxKv, n);

  iris::AttentionArgs& a = in.args;
  a.dtype = iris::kBF16;
  a.out = in.out.data();
  a.q = in.q.data();
  a.k = in.k.data();
  a.v = in.v.data();
  a.queryStart = in.starts.data();
  a.kvLens = c.kvLens.data();
  a.pageTable = in.pages.table.data();
  a.tokens = S;
  a.S = S;
  a.Hq = c.Hq;
  a.Hk = c.Hk;
  a.D = D;
  a.maxPages = in.pages.maxPages;
  a.pageSize = c.pageSize;
  a.numSlots = in.numSlots;
  a.maxQueryLen = 1;
  a.maxKvLen = maxKv;
  a.scale = 1.f / std::sqrt(float(D));
  a.causal = true;
  a.chunkSize = c.chunk;
  a.paged = true;
  a.forceSplits = c.splits;
}

struct Errors {
  double rel = 0, maxErr = 0;
  std::string firstBad;  // the first element past `bound`, described
};

// The outputs against a float64 softmax over the same bf16 values (absent keys left out); `bound(ref)` is the error
// an element may have.
template <typename Bound>
Errors compare(const Case& c, const Inputs& in, Bound bound) {
  using emulation::fromBf16;
  const int S = int(c.kvLens.size()), D = c.D, group = c.Hq / c.Hk, maxPages = in.pages.maxPages;
  double diff = 0, norm = 0;
  Errors e;
  for (int s = 0; s < S; s++) {
    const int pos = c.kvLens[s] - 1, lo = c.chunk > 0 ? pos - pos % c.chunk : 0, hi = pos + 1;
    auto keyRow = [&](int p) {
      const int page = in.pages.table[size_t(s) * maxPages + p / c.pageSize];
      const long long slot = (long long)page * c.pageSize + p % c.pageSize;
      return page >= 0 && slot < in.numSlots ? int(slot) : -1;
    };
    for (int h = 0; h < c.Hq; h++) {
      const int kv = h / group;
      std::vector<double> w;
      std::vector<int> rows;
      double mx = -INFINITY, sum = 0;
      for (int p = lo; p < hi; p++) {
        if (keyRow(p) < 0) continue;
        double dot = 0;
        for (int d = 0; d < D; d++)
          dot += double(fromBf16(in.q[(size_t(s) * c.Hq + h) * D + d])) * fromBf16(in.k[(size_t(keyRow(p)) * c.Hk + kv) * D + d]);
        w.push_back(dot * in.args.scale);
        rows.push_back(keyRow(p));
        mx = std::max(mx, w.back());
      }
      for (double& x : w) sum += (x = std::exp(x - mx));
      for (int d = 0; d < D; d++) {
        double ref = 0;
        for (size_t j = 0; j < w.size(); j++) ref += w[j] / sum * fromBf16(in.v[(size_t(rows[j]) * c.Hk + kv) * D + d]);
        const double got = fromBf16(in.out[(size_t(s) * c.Hq + h) * D + d]), err = std::fabs(got - ref);
        diff += err * err;
        norm += ref * ref;
        if (!(err <= e.maxErr)) e.maxErr = err;
        if (!(err <= bound(ref)) && e.firstBad.empty()) {
          char text[160];
          std::snprintf(text, sizeof text, "  first bad: sequence %d head %d dim %d: %g vs %g\n", s, h, d, got, ref);
          e.firstBad = text;
        }
      }
    }
  }
  e.rel = std::sqrt(diff / std::max(norm, 1e-30));
  return e;
}

}  // namespace decode_case
