// Shared declarations of build/iris_cuda.node: the stream, the allocator, the launchers of every kernel, and the
// status convention. A launcher enqueues work on the one stream of the device and returns an error message, empty
// on success; the N-API glue (addon/) turns a non-empty message into a JavaScript exception. No launcher waits.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace iris {

// Element types, numbered as the TypeScript side (src/runtime/cuda/addon.ts) numbers them.
enum DType : int { kF32 = 0, kBF16 = 1, kF16 = 2, kI32 = 3, kF8E4M3 = 4 };

size_t dtypeBytes(int dtype);

// ==== device, stream ====

// Selects the device and creates its stream; once per process (one device per process).
std::string initDevice(int index);
int currentDevice();
cudaStream_t stream();
int multiprocessorCount();
// The device's compute capability, major * 10 + minor (90 for Hopper).
int computeCapability();
// Whether kernels may be launched as programmatic dependents (Hopper and later; include/dependent_launch.cuh).
bool dependentLaunchSupported();
// The dynamic shared memory one block may ask for on this device (the opt-in limit: 227 KB on Hopper, 99 KB on sm_89).
size_t sharedBytesPerBlockLimit();
// Lets `kernel` launch with `bytes` of dynamic shared memory (past 48 KB it must be asked for) and prefer all shared,
// little L1 (the tile kernels' K/V bypass L1); once per kernel, before its first launch. "" or why not.
std::string allowSharedBytes(const void* kernel, size_t bytes, const char* what);

// "" for cudaSuccess, else "<what>: <cuda error string>".
std::string cudaStatus(cudaError_t err, const char* what);
// The status of the last launch (cudaGetLastError), for launchers to return right after a <<<>>>.
std::string launchStatus(const char* kernel);

// ==== memory (memory/) ====

// The caching allocator: device memory is taken from the driver once and reused; cudaFree only in emptyCache()
// or when a cudaMalloc fails (then every cached block is freed and the allocation retried).
std::string deviceMalloc(size_t bytes, void** out);
void deviceFree(void* ptr);
void emptyCache();
struct AllocatorStats {
  size_t allocated = 0, reserved = 0, peak = 0;
};
AllocatorStats allocatorStats();

// CUDA graphs of the stream (memory/graph.cc). While a capture runs, blocks the allocator hands out are kept by
// the graph (deviceFree leaves them alone) and freed when the graph is destroyed.
std::string beginCapture();
std::string endCapture(int* id);
std::string replay(int id);
void destroyGraph(int id);
bool captureActive();
void keepForCapture(void* block);
void releaseGraphBlock(void* block);

// Timing marks (memory/events.cc): an event recorded on the stream, and the device time between two of them once
// both have passed (read after the work behind them was waited for).
std::string recordMark(int* id);
std::string markElapsed(int from, int to, float* ms);
void releaseMark(int id);

// Host memory -> device through pinned staging buffers, in stream order; `src` may be reused on return.
std::string uploadBytes(void* dst, const void* src, size_t bytes);
// Device -> pinned staging buffer, recording an event; the returned ticket is waited on off the main thread.
struct DownloadTicket {
  void* pinned = nullptr;
  size_t bytes = 0;
  cudaEvent_t done = nullptr;
};
std::string beginDownload(const void* src, size_t bytes, DownloadTicket* ticket);
// Blocks until the copy finished (call it on a worker thread), then gives the staging buffer back.
std::string finishDownload(DownloadTicket* ticket, void* dst, int srcDtype, size_t count);

// ==== kernels (kernels/) ====
// Pointers are device pointers to the first element of each tensor; counts are elements unless named bytes.

std::string fillUniform(int dtype, void* out, size_t n, uint32_t seed, float low, float high);
std::string fill(int dtype, void* out, size_t n, double value);
std::string cast(int outDtype, void* out, int inDtype, const void* in, size_t n);
std::string add(int dtype, void* out, const void* a, const void* b, size_t n, size_t m);
std::string mul(int dtype, void* out, const void* a, const void* b, size_t n, size_t m);
std::string scaleRows(int dtype, void* out, const void* x, const float* scale, size_t rows, size_t width);
std::string siluAndMul(int dtype, void* out, const void* x, size_t rows, size_t inter);
std::string gelu(int dtype, void* out, const void* x, size_t n);

std::string gatherRows(void* out, const void* x, const int32_t* index, size_t m, size_t rows, size_t rowBytes);
std::string scatterRows(void* dst, const int32_t* index, const void* src, size_t n, size_t rows, size_t rowBytes);
std::string storeKV(const void* k, const void* v, void* kCache, void* vCache, const int32_t* slots, size_t T,
                    size_t rowBytes, size_t numSlots);

// Skinny products (T <= 2, bf16) run gemv.cu's weight-streaming kernel instead of cuBLASLt (see setGemvMode).
bool gemvApplies(int dtype, const void* out, const void* x, const void* w, size_t T, size_t K);
std::string gemv(void* out, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t N);
// gemv's gated form: out [T, I] = silu(gate) * up of x · w[2I, K]ᵀ (+ bias [2I]), gate rows first (gemv.cu).
std::string gemvSiluAndMul(void* out, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t I);
// gemv with a decode layer's norm before it: out = rmsNorm(x) * normWeight · wᵀ + bias (gated: silu(gate) * up of it,
// w [2N, K]), the norm computed in each block as addRmsNorm would store it, for rows of at most kGemvNormMaxK.
constexpr size_t kGemvNormMaxK = 4096;
std::string gemvNorm(void* out, const void* x, const void* normWeight, float eps, const void* w, const void* bias, size_t T,
                     size_t K, size_t N, bool gated);
// gemv into the residual stream: residual [T, N] += x · wᵀ + bias, rounded as gemv then add round.
std::string gemvAddResidual(void* residual, const void* x, const void* w, const void* bias, size_t T, size_t K, size_t N);
// Whether gemv takes a product of N rows (gemvApplies and the rule in linear(), gemm_lt.cc).
bool gemvServes(int dtype, const void* out, const void* x, const void* w, size_t T, size_t K, size_t N);
// A decode layer's products with its norms and residual adds (rmsNormLinear, linearAddResidual: the gemv edges above)
// where gemv would serve them: skinnyFusions says whether a model's products of T rows over hidden size K fuse (its
// path for the step); each call says again for its own operands, false having enqueued nothing.
bool skinnyFusions(int dtype, size_t T, size_t K);
bool rmsNormLinear(int dtype, void* out, const void* x, const void* normWeight, float eps, const void* w, const void* bias,
                   size_t T, size_t K, size_t N, bool gated, std::string* status);
bool linearAddResidual(int dtype, void* residual, const void* x, const void* w, const void* bias, size_t T, size_t K,
                       size_t N, std::string* status);
// A SwiGLU MLP's gate|up product with its activation in one kernel, where gemv would serve the product (the caller
// runs linear then siluAndMul elsewhere): linearSiluAndMulFuses says where; linearSiluAndMul fails elsewhere.
bool linearSiluAndMulFuses(int dtype, const void* out, const void* x, const void* w, size_t T, size_t K, size_t I);
std::string linearSiluAndMul(int dtype, void* out, const void* x, const void* w, const void* bias, size_t T, size_t K,
                             size_t I);
// -1: gemv where gemvApplies and the rule in linear() agree (the default); 0: never; 1: wherever it applies (benchmarks).
void setGemvMode(int mode);
// Forces the gemv kernel's warps per row (1, 2, 4 or 8; anything else: its own choice), for benchmarks.
void setGemvSplit(int split);
// Forces the blocks decode attention splits a KV head's query group over (1 or 2; else its own choice), for benchmarks.
void setDecodeAttentionParts(int parts);
// Forces the lanes decode attention gives a key (1 or 4; else its own choice; head dim 32 always 1), for benchmarks.
void setDecodeAttentionLanesPerKey(int lanes);
std::string linear(int dtype, void* out, const void* x, const void* w, const void* bias, size_t T, size_t K,
                   size_t N);

std::string rmsNorm(int dtype, void* out, const void* x, const void* w, size_t rows, size_t H, float eps);
std::string layerNorm(int dtype, void* out, const void* x, const void* w, const void* b, size_t rows, size_t H,
                      float eps);
std::string softmax(int dtype, void* out, const void* x, size_t rows, size_t H);

// Fused kernels (kernels/fused.cu): residual += x then RMSNorm; rotary and the KV store from the fused q|k|v, with
// Llama 4's steps on the way: R = 0 rotates nothing, qkNormEps >= 0 RMS-normalizes every q and k head after the
// rotation (no gain), qScale (null: none) scales each token's query row.
std::string addRmsNorm(int dtype, void* out, void* residual, const void* x, const void* w, size_t rows, size_t H, float eps);
std::string rotaryStoreKV(int dtype, void* q, void* kCache, void* vCache, const void* qkv, const float* cos,
                          const float* sin, const int32_t* slots, size_t T, int Hq, int Hk, int D, int R,
                          bool interleaved, size_t numSlots, float qkNormEps, const float* qScale);
// 0: always the one-value kernel; 1 or -1 (the rule): the 16-byte kernel wherever it applies (include/rotary_store_kv.cuh).
void setRotaryStoreKVVec16(int mode);

std::string ropeCosSin(float* cos, float* sin, const int32_t* positions, const float* invFreq,
                       const int32_t* section, size_t T, size_t P, size_t R);
// x [T, headsX, D] and, unless null, y [T, headsY, D] rotated in place by the same angles (q and k in one launch).
std::string applyRotary(int dtype, void* x, void* y, const float* cos, const float* sin, size_t T, size_t headsX,
                        size_t headsY, size_t D, size_t R, bool interleaved);
// The same with rows xRow and yRow elements apart (q and k inside the fused q|k|v product, rotated in place).
std::string applyRotaryRows(int dtype, void* x, void* y, const float* cos, const float* sin, size_t T, size_t headsX,
                            size_t headsY, size_t D, size_t R, bool interleaved, size_t xRow, size_t yRow);

// Where the keys of one attention call live: packed rows of the segment (varlen) or a paged cache.
struct AttentionArgs {
  int dtype = kBF16;
  void* out = nullptr;
  const void* q = nullptr;
  const void* k = nullptr;  // varlen: k [T, Hk, D]; paged: the key cache [numSlots, Hk, D]
  const void* v = nullptr;
  const int32_t* queryStart = nullptr;  // I32 [S+1]
  const int32_t* kvLens = nullptr;      // paged only: I32 [S]
  const int32_t* pageTable = nullptr;   // paged only: I32 [S, maxPages]
  int tokens = 0;  // query rows T = queryStart[S]
  int S = 0, Hq = 0, Hk = 0, D = 0;
  int maxPages = 0, pageSize = 0, numSlots = 0;
  int maxQueryLen = 0, maxKvLen = 0;
  float scale = 1.f;
  bool causal = true;
  int chunkSize = 0;  // 0: no chunked mask
  bool paged = false;
  int forceSplits = 0;  // > 0: split each sequence's keys this many ways (tests of the split path)
  // Elements from one row of q, k, v to the next; 0: packed (Hq D, Hk D, Hk D). Other strides (q, k, v read in
  // place from the fused q|k|v product) are taken by the tensor-core kernel alone (attention_qkv.cu).
  int qRow = 0, kRow = 0, vRow = 0;
};
std::string attention(const AttentionArgs& args);
// The tensor-core kernel (kernels/attention_mma.cu) that attention() hands bf16 calls with queries of 16 or more
// (prefill, vision) and head dims 16, 32, 64, 80, 88, 96 or 128 to. On unless IRIS_ATTENTION_MMA=0 or turned off.
bool attentionMmaApplies(const AttentionArgs& args);
// Decode attention on the tensor-core kernel instead of the decode kernel: at large batches by the rule in
// attention_mma.cu (mode -1), or forced (0: never, 1: always; benchmarks and tests).
void setDecodeAttentionMma(int mode);
bool decodeAttentionOnMma(const AttentionArgs& a);
// The decode kernel (kernels/attention_decode.cu) for paged bf16 calls of one query per sequence, head dims 32, 64
// or 128 and at most 8 q heads a KV head: each key and value row read once, all of an iteration's reads in flight.
bool attentionDecodeApplies(const AttentionArgs& args);
std::string attentionDecode(const AttentionArgs& args);
// The decode kernel on the tensor cores (kernels/attention_decode_mma.cu): the same calls, head dims 64 or 128, at
// most 8 q heads a KV head. Taken when decodeAttentionOnTensorCores says so: forced by
// setDecodeAttentionTensorCores(1) or by the rule (-1: grouped layouts); 0 leaves decode to the other two kernels.
bool attentionDecodeMmaApplies(const AttentionArgs& args);
std::string attentionDecodeMma(const AttentionArgs& args);
void setDecodeAttentionTensorCores(int mode);
// Its block shape, forced for sweeps and tests: 1, 2 or 4 warps a block, 2, 3 or 4 shared stages a warp (0 or
// anything else: the rule's, by the batch's (sequence, KV head) pairs).
void setDecodeAttentionMmaWarps(int warps);
void setDecodeAttentionMmaStages(int stages);
// Decode attention on the tensor cores merges the splits of a short sequence in a cluster of blocks, through their shared
// memory (1), or through the workspace and an arrival count (0); -1: the rule (attention_decode_mma.cu).
void setDecodeAttentionClusterMerge(int mode);
// Those clusters' splits' least keys, for sweeps: a multiple of 16 from 16 to 512 (0 or anything else: 128, the
// splits without clusters).
void setDecodeAttentionClusterSplitKeys(int keys);
bool decodeAttentionOnTensorCores(const AttentionArgs& a);
std::string attentionMma(const AttentionArgs& args);
void setAttentionMmaEnabled(bool enabled);
// Varlen attention straight from the fused q|k|v product qkv [T, (Hq + 2 Hk) D] (kernels/attention_qkv.cu; args'
// q, k, v are ignored): q and k rotated there in place (applyRotaryRows), then attentionMma reading q, k and v where
// they are. attentionQKVApplies: whether this call can go that way (the rule, or forced by setAttentionQKVInPlace:
// -1 the rule, 0 never, 1 wherever the tensor-core kernel can serve it).
bool attentionQKVApplies(const AttentionArgs& args, void* qkv);
std::string attentionQKV(const AttentionArgs& args, void* qkv, const float* cos, const float* sin, int R, bool interleaved);
void setAttentionQKVInPlace(int mode);
// The windows of that call (every segment at most 64 rows, Hq == Hk, R a multiple of 4) in one kernel that rotates q
// and k in shared memory and walks several heads a block (kernels/attention_window.cu), leaving qkv unrotated: taken
// by attentionQKV wherever it applies, unless setAttentionWindows(0) (-1 or 1: wherever it applies).
bool attentionWindowsApply(const AttentionArgs& args, const float* cos, const float* sin, int R);
std::string attentionWindows(const AttentionArgs& args, const float* cos, const float* sin, int R, bool interleaved);
void setAttentionWindows(int mode);
void setAttentionWindowHeads(int heads);  // heads a block of that kernel, 1 to 64; 0: its default

std::string argmax(int dtype, int32_t* out, const void* logits, size_t B, size_t V);
// 0: always the scalar kernel; 1 or -1 (the rule): the 16-byte kernel wherever the rows allow it (kernels/argmax.cu).
void setArgmaxVec16(int mode);
std::string applyPenalties(float* logits, const int32_t* ids, const int32_t* counts, const int32_t* rowStart,
                           const float* repetition, const float* frequency, const float* presence, size_t B,
                           size_t V);
std::string applyTokenMask(float* logits, const int32_t* bitmask, const int32_t* rows, size_t M, size_t B, size_t V,
                           size_t W);
std::string sample(int32_t* out, const float* logits, const float* temperature, const int32_t* topK,
                   const float* topP, const float* minP, const float* uniform, size_t B, size_t V);

// Logprob kernels over F32 rows [R, V] (kernels/logprobs.cu): log-softmax (out may be x), a per-row gather of
// columns (ids outside [0, V) give NaN), and each row's K largest entries, largest first, ties to the lower id.
std::string logSoftmax(float* out, const float* x, size_t R, size_t V);
std::string gatherColumns(float* out, const float* x, const int32_t* index, size_t R, size_t V, size_t G);
std::string topK(float* values, int32_t* ids, const float* x, size_t R, size_t V, size_t K);

// Llama 4's routed experts (kernels/moe.cu; Backend.moeTop1Sigmoid): x [T, H], routerLogits [T, E], gateUp
// [E, H, 2I] and down [E, I, H] (x·W layout) -> out [T, H]; tokens grouped by expert on the device. `scratch`
// (256-byte aligned, moeScratchBytes long) holds the intermediates; null: the launcher allocates its own.
size_t moeScratchBytes(int dtype, size_t T, size_t H, size_t E, size_t I);
std::string moeTop1Sigmoid(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp,
                           const void* down, size_t T, size_t H, size_t E, size_t I, void* scratch, size_t scratchBytes);

// ==== FP8 E4M3 (kernels/fp8_*.cu; the cpu reference is src/runtime/cpu/fp8.ts) ====
// Rows quantized with one F32 scale each: scale = max(amax / 448, 2^-126), q = e4m3_satfinite_rn(x / scale). x holds
// `batches` blocks of [R, C] (or [C, R] with `transpose`: its columns are the rows); q [batches, R, C], scale
// [batches, R]. inDtype: a float dtype.
std::string quantizeFp8(int inDtype, void* q, float* scale, const void* x, size_t batches, size_t R, size_t C, bool transpose);
// out [T, N] (outDtype) = (x · wᵀ) * xScale[t] * wScale[n] + bias[n]: x F8 [T, K], w F8 [N, K], sums in fp32 over
// the FP8 values. T <= 8: fp8_gemv.cu's weight-streaming kernel; more: cuBLASLt's FP8 product (gemm_lt.cc) into out,
// then the scales and bias in place. xScale null: x is float of outDtype, quantized per token inside the
// weight-streaming kernel as quantizeFp8 would (T <= 4, K a multiple of 16, T * K <= 32 KB).
std::string linearFp8(int outDtype, void* out, const void* x, const float* xScale, const void* w, const float* wScale,
                      const void* bias, size_t T, size_t K, size_t N);
// cuBLASLt's E4M3 x E4M3 product with fp32 accumulation into raw[T, N] of outDtype (BF16 or F32: half cannot hold
// the raw sums), no scales: the caller applies them. K a multiple of 16 and 16-byte aligned pointers; "" or why not.
std::string fp8GemmLt(int outDtype, void* raw, const void* x, const void* w, size_t T, size_t K, size_t N);
// The weight-streaming FP8 product over rows grouped by expert (kernels/fp8_gemv.cu): row p of x (expert e's rows
// are offsets[e] .. offsets[e+1]-1; offsets null: one expert with all T rows) times expert e's w [N, K] (w + e*N*K),
// both scales and the bias applied, written to out row rowMap[p] (or p). Any T; weights read once per 8 rows.
struct Fp8RowsArgs {
  int outDtype = kBF16;
  void* out = nullptr;
  const void* x = nullptr;
  const float* xScale = nullptr;
  const void* w = nullptr;
  const float* wScale = nullptr;  // [E, N]
  const void* bias = nullptr;
  const int32_t* offsets = nullptr;  // I32 [E+1] on the device, or null
  const int32_t* rowMap = nullptr;
  size_t T = 0, K = 0, N = 0, E = 1;
  // >= 0: x is float of this dtype (the output's), quantized per row inside as quantizeFp8 does, xScale unused; one
  // expert, at most 4 rows, K a multiple of 16, T * K <= 32 KB (fp8_gemv.cu).
  int xDtype = -1;
  // Set by the quantizing kernels' launchers (fp8_quantizing.cuh), not by callers: bytes of each of a warp's first
  // rows that go to L2 before the wait (0: its first batch of loads alone).
  int prefetchBytes = 0;
  // Set by the same launchers while a benchmark records the products' timeline (fp8_timeline.cuh), else null.
  unsigned long long* timeline = nullptr;
};
std::string fp8Rows(const Fp8RowsArgs& args);
// The same product for rows grouped by expert on the FP8 tensor cores (kernels/fp8_grouped_mma.cu): offsets given, x
// quantized (xDtype -1), K a multiple of 16, x and w 16-byte aligned, sm_89 or later. fp8GroupedMmaApplies: whether
// the experts (fp8_moe.cu) take it for `args`: past 8 rows in the call, or as setFp8GroupedMma forces (1 wherever it
// can serve, 0 never, -1 that rule), for measuring both ways.
std::string fp8GroupedMma(const Fp8RowsArgs& args);
bool fp8GroupedMmaApplies(const Fp8RowsArgs& args);
void setFp8GroupedMma(int mode);
// The FP8 product's 16-byte weight loads in flight per lane at one row a pass: 4, 8 or 16 forced, 0 its own choice
// (benchmarks: bench/decode-layers-scout.ts sweeps it).
void setFp8StreamBatch(int batch);
// The bytes of weights the quantizing FP8 products send to L2 before their wait on the kernel ahead, in MB: 0 each
// warp's first batch of loads alone, > 0 its first pass's rows up to that many MB in all the call, -1 the default
// (fp8_gemv.cu; bench/decode-layers-scout.ts sweeps it).
void setFp8PrefetchBudget(int megabytes);
// Whether the FP8 products at decode sizes quantize their float input inside (fp8_quantizing.cuh) or after a quantizeFp8
// kernel of its own: 1 inside, 0 a kernel before (linearFp8's callers, through fp8QuantizeInProduct, and
// moeTop1SigmoidFp8's two products), -1 the default (fp8_gemv.cu). fp8QuantizeInProduct: the choice in force, 1 or 0.
// A linearFp8 call with a null xScale quantizes inside whatever the choice.
void setFp8QuantizeInProduct(int mode);
int fp8QuantizeInProduct();
// Whether those products (the ones quantizing inside) stream their weights through the tensor cores (mma over E4M3,
// fp8_stream_mma.cuh) or the CUDA cores: 1 tensor cores, 0 CUDA cores, -1 the default (fp8_gemv.cu). Tensor cores
// only from sm_89 on, the CUDA cores elsewhere whatever the choice. fp8ProductOnTensorCores: the choice in force.
void setFp8ProductOnTensorCores(int mode);
int fp8ProductOnTensorCores();
// Whether the tensor-core quantizing products copy each 16-row tile into shared memory whole (fp8_stream_bulk.cuh's
// BulkRows, sm_90) or stream it through registers (MmaRows): 1 bulk copies, 0 registers, -1 the rule (fp8_gemv.cu).
void setFp8BulkRows(int mode);
// The quantizing FP8 products' timeline (fp8_timeline.cuh, for benchmarks): `buffer` (device memory of `bytes`, zeroed
// by the caller) receives each block's marks from the next launch on; null turns it off. Either way the launches
// recorded before are forgotten. fp8TimelineLaunches: those since, one "name,gridX,gridY,firstWord" a line.
void setFp8Timeline(void* buffer, size_t bytes);
std::string fp8TimelineLaunches();
// moeTop1Sigmoid with FP8 experts (kernels/fp8_moe.cu): gateUp F8 [E, 2I, H] with scales [E, 2I], down F8 [E, H, I]
// with scales [E, H]; x, routerLogits and out of `dtype`. Scratch as moeTop1Sigmoid's (moeFp8ScratchBytes).
size_t moeFp8ScratchBytes(int dtype, size_t T, size_t H, size_t E, size_t I);
std::string moeTop1SigmoidFp8(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp,
                              const float* gateUpScale, const void* down, const float* downScale, size_t T, size_t H,
                              size_t E, size_t I, void* scratch, size_t scratchBytes);
// moeTop1SigmoidFp8 with Llama 4's shared expert (gateUp F8 [2I, H] with scales [2I], down F8 [H, I] with scales [H],
// no bias) on the unscaled x, its output added: out = routed + shared, rounded as the add of the two outputs. Its two
// products ride the routed expert's (include/fp8_shared_expert.cuh), decode sizes only: moeFp8SharedFold says whether
// it serves (dtype, T, H, E, I) now (setFp8MoeSharedFold: 1 wherever it can, 0 never, -1 its rule, kernels/fp8_moe.cu);
// where it does not, the caller runs the shared expert's own kernels. Scratch: moeFp8SharedScratchBytes.
struct Fp8SharedExpert {
  const void* gateUp = nullptr;
  const float* gateUpScale = nullptr;
  const void* down = nullptr;
  const float* downScale = nullptr;
};
void setFp8MoeSharedFold(int mode);
bool moeFp8SharedFold(int dtype, size_t T, size_t H, size_t E, size_t I);
size_t moeFp8SharedScratchBytes(int dtype, size_t T, size_t H, size_t E, size_t I);
std::string moeTop1SigmoidFp8Shared(int dtype, void* out, const void* x, const void* routerLogits, const void* gateUp,
                                    const float* gateUpScale, const void* down, const float* downScale,
                                    const Fp8SharedExpert& shared, size_t T, size_t H, size_t E, size_t I, void* scratch,
                                    size_t scratchBytes);
// moe.cu's routing for other expert kernels: expertOf, score [T] (F32), offsets [E+1] and perm [T] (tokens grouped by
// expert), one block, as moeTop1Sigmoid routes.
std::string moeRoute(int dtype, const void* routerLogits, size_t T, size_t E, int32_t* expertOf, float* score,
                     int32_t* offsets, int32_t* perm);

// Qwen2-VL's patch rows of one resized RGB picture (kernels/image.cu): `pixels` is height x width x 3 bytes, `table`
// F32 [3, 256]; out [(height/patch) * (width/patch), 3 * temporal * patch^2] of `dtype`.
std::string patchifyImage(int dtype, void* out, const void* pixels, const float* table, int width, int height, int patch,
                          int merge, int temporal);
// An interleaved 8-bit RGB picture resized with fixed-point weights per axis (kernels/resize_image.cu), bit-exact
// with src/core/resample-passes.ts: pixels srcHeight x srcWidth x 3 bytes, out height x width x 3. A table (I32
// [out * (2 + taps)]: start, count, then taps weights per output index) is given exactly for an axis whose size
// changes; scratch (srcHeight x width x 3 bytes) when both do. Neither: a copy.
struct ResizeImageArgs {
  void* out = nullptr;
  const void* pixels = nullptr;
  void* scratch = nullptr;
  int srcWidth = 0, srcHeight = 0, width = 0, height = 0;
  const int32_t* hTable = nullptr;
  int hTaps = 0, hPrecision = 0;
  const int32_t* vTable = nullptr;
  int vTaps = 0, vPrecision = 0;
};
std::string resizeImage(const ResizeImageArgs& args);

}  // namespace iris
