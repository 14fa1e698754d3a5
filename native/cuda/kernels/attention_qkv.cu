// The vision towers' attention straight from the fused q|k|v product (Qwen2.5-VL's and Llama 4's vision blocks):
// q and k rotated in place in their columns of the product (rotary_apply.cuh with the fused row as stride), then
// attention_mma.cu reading q, k and v where they are, through the same stride. Nothing is copied.
//
// Before it, each block split the product with three column copies and rotated the copies. Qwen2.5-VL-3B over 14
// pictures (18,144 rows of 3 x 1,280 bf16 a block): the copies read and wrote 2 x 139.3 MB = 278.7 MB a block,
// 66 us at 4.2 TB/s, 2.1 ms over the 32 blocks, plus three launches a block (~36 us of host each block). The rotation
// moves the same 185.8 MB in place as before, and attention reads the same bytes: a head's row is the same whole
// run of 16-byte pieces (160 B at D = 80, 176 B at 88) whether rows are 2,560 or 7,680 bytes apart.
//
// Windows of at most 64 rows (Qwen2.5-VL's windowed blocks) go to attention_window.cu instead, which rotates q and k
// in shared memory (one pass over them fewer) and leaves the product unrotated: the same output bits.
#include "iris_cuda.h"

namespace iris {

namespace {

// The rule: in place wherever the tensor-core kernel serves the call. To go back to the three copies, the rotation
// and attention of separate tensors (the path before), set this to false.
constexpr bool kInPlaceByRule = true;

int inPlaceMode = -1;  // -1: the rule; 0 / 1: forced by setAttentionQKVInPlace (tests, benchmarks)

// Head `head` of row 0 of qkv (bf16 only: the tensor-core kernel's dtype).
void* headColumn(void* qkv, int head, int D) { return static_cast<unsigned char*>(qkv) + size_t(head) * D * 2; }

// args' q, k and v at their columns of qkv [T, (Hq + 2 Hk) D], each row (Hq + 2 Hk) D elements apart.
AttentionArgs inPlaceArgs(AttentionArgs a, void* qkv) {
  a.q = qkv;
  a.k = headColumn(qkv, a.Hq, a.D);
  a.v = headColumn(qkv, a.Hq + a.Hk, a.D);
  a.qRow = a.kRow = a.vRow = (a.Hq + 2 * a.Hk) * a.D;
  return a;
}

}  // namespace

void setAttentionQKVInPlace(int mode) { inPlaceMode = mode < 0 ? -1 : mode > 0 ? 1 : 0; }

bool attentionQKVApplies(const AttentionArgs& a, void* qkv) {
  const bool wanted = inPlaceMode < 0 ? kInPlaceByRule : inPlaceMode == 1;
  return wanted && a.dtype == kBF16 && !a.paged && a.Hk > 0 && a.Hq % a.Hk == 0 && attentionMmaApplies(inPlaceArgs(a, qkv));
}

std::string attentionQKV(const AttentionArgs& a, void* qkv, const float* cos, const float* sin, int R, bool interleaved) {
  if (!attentionQKVApplies(a, qkv)) return "attentionQKV: the tensor-core kernel cannot serve this call in place";
  const AttentionArgs fused = inPlaceArgs(a, qkv);
  if (attentionWindowsApply(fused, cos, sin, R)) return a.tokens == 0 ? "" : attentionWindows(fused, cos, sin, R, interleaved);
  const size_t row = size_t(fused.qRow);
  std::string status = applyRotaryRows(a.dtype, qkv, headColumn(qkv, a.Hq, a.D), cos, sin, size_t(a.tokens), size_t(a.Hq),
                                       size_t(a.Hk), size_t(a.D), size_t(R), interleaved, row, row);
  if (!status.empty()) return status;
  if (a.S == 0 || a.tokens == 0) return "";  // an empty grid is no launch
  return attentionMma(fused);
}

}  // namespace iris
