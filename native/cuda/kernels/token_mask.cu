// Structured output's token mask on F32 logits [B, V]: bitmask I32 [M, W] (bit t & 31 of word t >> 5 set = token
// t allowed) applies to logits row rows[m]; disallowed logits become -inf. Grid (ceil(W / 8), M): each thread
// takes one 32-bit word, so a row's words are read once and each logit is written at most once.
#include <cmath>

#include "iris_cuda.h"

namespace iris {

namespace {

constexpr int kMaskThreads = 256;
constexpr int kWordsPerBlock = kMaskThreads / 32;

// ==== kernels ====

// A warp per mask word: lane l handles token word * 32 + l, so the 32 logits of a word are one coalesced access.
__global__ void tokenMaskKernel(float* logits, const int32_t* bitmask, const int32_t* rows, int B, int V, int W) {
  const int m = blockIdx.y;
  const int word = blockIdx.x * kWordsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int row = rows[m];
  if (word >= W || row < 0 || row >= B) return;
  const int token = word * 32 + lane;
  if (token >= V) return;
  const uint32_t bits = static_cast<uint32_t>(bitmask[size_t(m) * W + word]);
  if (((bits >> lane) & 1u) == 0) logits[size_t(row) * V + token] = -INFINITY;
}

}  // namespace

// ==== launcher ====

std::string applyTokenMask(float* logits, const int32_t* bitmask, const int32_t* rows, size_t M, size_t B, size_t V,
                           size_t W) {
  if (M == 0 || V == 0) return "";
  if (W * 32 < V) return "applyTokenMask: the bitmask has " + std::to_string(W) + " words per row, fewer than the vocabulary needs";
  const dim3 grid(unsigned((W + kWordsPerBlock - 1) / kWordsPerBlock), unsigned(M));
  tokenMaskKernel<<<grid, kMaskThreads, 0, stream()>>>(logits, bitmask, rows, int(B), int(V), int(W));
  return launchStatus("applyTokenMask");
}

}  // namespace iris
