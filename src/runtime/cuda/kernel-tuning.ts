/**
 * Kernel choices the cuda backend makes on its own, forced for benchmarks that measure the alternatives
 * (bench/decode-layers-cuda.ts, bench/decode-layers-scout.ts, bench/kernels-cuda.ts, bench/fp8-cuda.ts).
 * Process-wide: they hold until tuned again.
 */
import { IrisError } from "../../core/errors.js";
import { cudaAddonStatus, type CudaAddon } from "./addon.js";

export interface KernelTuning {
  /**
   * Skinny bf16 products (T <= 2) through the weight-streaming gemv kernel wherever it applies (true) or never
   * (false, cuBLASLt); left out, the backend's rule: gemv except for output heads (N > 65536), where cuBLASLt wins.
   */
  readonly gemv?: boolean;
  /** gemv's warps a weight row: 1, 2, 4 or 8 (0, the default: its own choice). */
  readonly gemvSplit?: number;
  /** Blocks decode attention splits a KV head's query group over: 1, 2, 4 or 8 (0, the default: its own choice). */
  readonly attentionParts?: number;
  /**
   * Lanes decode attention gives a key: 1 (a lane scores a key's whole row) or 4 (four lanes a quarter each: a
   * quarter of the serial chain, four times the splits a short sequence can fill); 0, the default: its own choice.
   * Head dim 32 always runs 1.
   */
  readonly attentionLanesPerKey?: number;
  /**
   * Decode attention on the tensor-core (prefill) kernel (true) or the decode kernel (false); left out, the
   * backend's rule: tensor cores once a batch's (sequence, KV head) pairs fill half the multiprocessors.
   */
  readonly attentionDecodeMma?: boolean;
  /**
   * Decode attention on the decode kernel for the tensor cores (native/cuda/kernels/attention_decode_mma.cu: keys as
   * the M rows, a KV head's q heads as the 8 columns; bf16, head dims 64 and 128, up to 8 q heads a KV head) wherever
   * it applies (true), ahead of attentionDecodeMma; false: never (the two kernels before it, by attentionDecodeMma);
   * left out, the backend's rule: it takes every grouped layout (2 to 8 q heads a KV head).
   */
  readonly attentionDecodeTensorCores?: boolean;
  /**
   * That kernel's block shape: warps a block (1, 2 or 4) and shared stages a warp (2, 3 or 4: one tile multiplied,
   * the others in flight); 0, the default: the rule's (four warps of two stages while a batch's (sequence, KV head)
   * pairs fit one wave of them, else a warp of three stages a pair).
   */
  readonly attentionDecodeTensorCoresWarps?: number;
  readonly attentionDecodeTensorCoresStages?: number;
  /**
   * That kernel merges the splits of a sequence's keys in a cluster of its blocks, through their shared memory (true;
   * Hopper and later, where a sequence's splits with keys fit one cluster of at most 8), or through a workspace and an
   * arrival count (false); left out, the addon's rule (attention_decode_mma.cu kClusterMergeByRule). The same bits.
   */
  readonly attentionDecodeClusterMerge?: boolean;
  /**
   * Those clusters' splits' least keys: a multiple of 16 from 16 to 512 (0, the default: 128, the splits without
   * clusters, so the same bits); shorter ones spread a sequence over more of its cluster's blocks.
   */
  readonly attentionDecodeClusterSplitKeys?: number;
  /**
   * The vision towers' attention straight from the fused q|k|v product (native/cuda/kernels/attention_qkv.cu: q and k
   * rotated in place, the tensor-core kernel reading q, k, v there) wherever that kernel serves the call (true), or
   * never (false: q, k, v copied apart first, as before); left out, the addon's rule (kInPlaceByRule: in place).
   */
  readonly attentionQkvInPlace?: boolean;
  /**
   * Of those calls, windows of at most 64 rows (Qwen2.5-VL's windowed blocks) on the kernel that rotates q and k in
   * shared memory and walks several heads a block (native/cuda/kernels/attention_window.cu; the product left
   * unrotated, the same output bits) wherever it applies (true, and the rule), or never (false).
   */
  readonly attentionWindows?: boolean;
  /** That kernel's heads a block, 1 to 64 (0, the default: its own, 4). */
  readonly attentionWindowHeads?: number;
  /** The FP8 weight-streaming product's 16-byte loads in flight per lane at one token: 4, 8 or 16 (0: its own). */
  readonly fp8StreamBatch?: number;
  /**
   * The MB of weights the quantizing FP8 products (decode sizes) send to L2 before they wait on the kernel ahead, their
   * first passes' rows within that budget a call (0: each warp's first batch of loads alone); left out, the addon's
   * default (native/cuda/kernels/fp8_gemv.cu kPrefetchBudgetDefaultMB).
   */
  readonly fp8PrefetchBudget?: number;
  /**
   * The FP8 products at decode sizes (kernels/linear-fp8.ts FUSED_FP8_QUANTIZE: linearFp8 and the experts' two
   * products) quantize their float input inside the product (true) or in a quantizeFp8 kernel before it (false);
   * left out, the addon's default (native/cuda/kernels/fp8_gemv.cu).
   */
  readonly fp8QuantizeInProduct?: boolean;
  /**
   * The routed experts' FP8 products (moeTop1SigmoidFp8) on the tensor-core grouped kernel (true, wherever it can
   * serve: sm_89 and later, K a multiple of 16) or the weight-streaming kernel (false); left out, the addon's rule:
   * tensor cores past 8 tokens (native/cuda/kernels/fp8_grouped_mma.cu).
   */
  readonly fp8GroupedMma?: boolean;
  /**
   * Those products (quantizing inside) stream their weights through the tensor cores (true: mma over E4M3, the dot
   * products without conversions; sm_89 and later, else the CUDA cores anyway) or the CUDA cores (false); left out,
   * the addon's rule: the tensor cores for products of more than 5,120 output rows (native/cuda/kernels/fp8_gemv.cu;
   * fp8ProductOnTensorCoresInForce says whether the tensor cores take any: forced, or by the rule for the largest).
   */
  readonly fp8ProductOnTensorCores?: boolean;
  /**
   * Those products on the tensor cores copy each 16-row tile of weights into shared memory whole (true: bulk copies,
   * one block a tile; sm_90 and the tile within 112 KB, else as false) or stream it through registers (false); left
   * out, the addon's rule (native/cuda/kernels/fp8_gemv.cu kBulkRowsByRule, IRIS_FP8_BULK_ROWS its starting value).
   */
  readonly fp8BulkRows?: boolean;
  /**
   * argmax on its 16-byte kernel (true; rows in whole aligned 16-byte packs, a wave of resident blocks) or the scalar
   * kernel (false); left out, the addon's rule: the 16-byte kernel wherever it applies (native/cuda/kernels/argmax.cu).
   */
  readonly argmaxVec16?: boolean;
  /**
   * rotaryStoreKV on its 16-byte kernel (true; no QK norm, whole aligned packs) or the one-value kernel (false); left
   * out, the addon's rule: the 16-byte kernel wherever it applies from 8 tokens (native/cuda/kernels/fused.cu).
   */
  readonly rotaryStoreKVVec16?: boolean;
  /**
   * Llama 4's shared expert folded into the routed experts' two FP8 products at decode (true, wherever they can serve:
   * route, gate|up, down) or run by its own kernels (false: its gate|up, siluAndMul, down and the add); left out, the
   * addon's rule: folded wherever it serves (native/cuda/kernels/fp8_moe.cu kSharedFoldDefault).
   */
  readonly fp8MoeSharedFold?: boolean;
}

/** The addon's FP8 choice as last read (undefined: to be read); tuneCudaKernels changes it. */
let quantizeInProduct: boolean | undefined;

/** Whether the cuda backend's FP8 products quantize a decode-size x inside (the addon's choice, read once a tuning). */
export function fp8QuantizesInProduct(addon: CudaAddon): boolean {
  quantizeInProduct ??= addon.fp8QuantizeInProduct() === 1;
  return quantizeInProduct;
}

/** The addon the choices live in; throws where the cuda device is unavailable. */
function tunableAddon(): CudaAddon {
  const { addon, reason } = cudaAddonStatus();
  if (addon === null) throw new IrisError("INVALID_ARGUMENT", `the cuda device is unavailable: ${reason}`);
  return addon;
}

/** Whether the quantizing FP8 products run on the tensor cores now: the choice in force on this device. */
export function fp8ProductOnTensorCoresInForce(): boolean {
  return tunableAddon().fp8ProductOnTensorCores() === 1;
}

/** A yes/no knob as the addon takes it: 1 or 0 forced, -1 (left out) the backend's own rule. */
const ruleOr = (forced: boolean | undefined): number => (forced === undefined ? -1 : forced ? 1 : 0);

/** Sets every choice: those left out go back to the kernels' own. */
export function tuneCudaKernels({
  gemv, gemvSplit = 0, attentionParts = 0, attentionLanesPerKey = 0, attentionDecodeMma, attentionDecodeTensorCores, attentionQkvInPlace,
  attentionWindows, attentionWindowHeads = 0,
  attentionDecodeTensorCoresWarps = 0, attentionDecodeTensorCoresStages = 0, attentionDecodeClusterMerge,
  attentionDecodeClusterSplitKeys = 0, fp8StreamBatch = 0, fp8PrefetchBudget = -1, fp8QuantizeInProduct,
  fp8GroupedMma, fp8ProductOnTensorCores, fp8BulkRows, fp8MoeSharedFold, argmaxVec16, rotaryStoreKVVec16,
}: KernelTuning): void {
  const addon = tunableAddon();
  addon.setGemv(ruleOr(gemv));
  addon.setGemvSplit(gemvSplit);
  addon.setDecodeAttentionParts(attentionParts);
  addon.setDecodeAttentionLanesPerKey(attentionLanesPerKey);
  addon.setDecodeAttentionMma(ruleOr(attentionDecodeMma));
  addon.setDecodeAttentionTensorCores(ruleOr(attentionDecodeTensorCores));
  addon.setAttentionQKVInPlace(ruleOr(attentionQkvInPlace));
  addon.setAttentionWindows(ruleOr(attentionWindows));
  addon.setAttentionWindowHeads(attentionWindowHeads);
  addon.setDecodeAttentionMmaWarps(attentionDecodeTensorCoresWarps);
  addon.setDecodeAttentionMmaStages(attentionDecodeTensorCoresStages);
  addon.setDecodeAttentionClusterMerge(ruleOr(attentionDecodeClusterMerge));
  addon.setDecodeAttentionClusterSplitKeys(attentionDecodeClusterSplitKeys);
  addon.setFp8StreamBatch(fp8StreamBatch);
  addon.setFp8PrefetchBudget(fp8PrefetchBudget);
  addon.setFp8QuantizeInProduct(ruleOr(fp8QuantizeInProduct));
  addon.setFp8GroupedMma(ruleOr(fp8GroupedMma));
  addon.setFp8ProductOnTensorCores(ruleOr(fp8ProductOnTensorCores));
  addon.setFp8BulkRows(ruleOr(fp8BulkRows));
  addon.setArgmaxVec16(ruleOr(argmaxVec16));
  addon.setRotaryStoreKVVec16(ruleOr(rotaryStoreKVVec16));
  addon.setFp8MoeSharedFold(ruleOr(fp8MoeSharedFold));
  quantizeInProduct = undefined;
}
