/**
 * The cuda backend's `Backend.rotaryAttentionQKV` (native/cuda/kernels/attention_qkv.cu: q and k rotated in place in
 * the fused product, the tensor-core attention reading q, k and v there), kept out of cuda-backend.ts, whose line
 * budget is spent.
 */
import type { AttentionOptions, RotaryStyle, Segments } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { DTYPE_CODE, type CudaAddon } from "./addon.js";
import { devicePtr as ptr } from "./storage.js";

/**
 * False, having enqueued nothing, where the addon declines (its rule, its knob, or a call its kernel cannot serve) or
 * the backend forces attention splits (`attentionSplits` > 0: tests of the scalar kernel, which reads packed q, k, v).
 */
export function rotaryAttentionQKV(addon: CudaAddon, attentionSplits: number, out: Tensor, qkv: Tensor, numKvHeads: number,
  cos: Tensor, sin: Tensor, style: RotaryStyle, segments: Segments, options: AttentionOptions): boolean {
  if (attentionSplits > 0) return false;
  const [T, heads, D] = qkv.shape, Hk = numKvHeads, Hq = heads - 2 * Hk;
  const args = [DTYPE_CODE[qkv.dtype], ptr(out), ptr(qkv), ptr(segments.cuSeqlens), T, segments.cuSeqlens.numel - 1, Hq, Hk, D,
    segments.maxSeqLen, options.scale, options.causal ? 1 : 0] as const;
  if (addon.attentionQKVApplies(...args) !== 1) return false;
  addon.attentionQKV(...args, ptr(cos), ptr(sin), cos.shape[1], style === "interleaved" ? 1 : 0);
  return true;
}
