/**
 * Asks the device to bring the next weights of a decode step into its cache while a latency-bound kernel runs.
 * A decode step at small batch streams every weight once; decode attention, between the q|k|v and o products, is a
 * chain of dependent reads over a few hundred keys during which the memory system idles (about 11 µs a layer of
 * Qwen2.5-VL-3B at batch 1 on an H200, time enough to move ~45 MB). Requested then, the o and gate|up weights that
 * follow arrive from L2. A hint only: results never depend on it, and the cpu ignores it.
 */
import { DTYPE_BYTES } from "../core/dtype.js";
import { isFp8Weight, type LinearWeight } from "../runtime/fp8-weight.js";
import type { Tensor } from "../runtime/tensor.js";

const MIB = 2 ** 20;

/**
 * The bytes requested per decode layer, in weight order, kept well under an H200's 50 MB L2 so what arrives first is
 * not evicted before its product runs. IRIS_DECODE_PREFETCH_MB overrides it (0: off), for measuring.
 */
export const DECODE_PREFETCH_BYTES = (() => {
  const mb = Number(process.env.IRIS_DECODE_PREFETCH_MB ?? "0");
  return Number.isFinite(mb) && mb > 0 ? mb * MIB : 0;
})();

/** The most rows a step may have for the prefetch to be worth it: decode batches (a prefill computes, it does not wait). */
export const MAX_PREFETCH_ROWS = 256;

/** Requests the first `budget` bytes of `weights`, in order (each one whole before the next). */
export function prefetchWeights(weights: readonly LinearWeight[], budget = DECODE_PREFETCH_BYTES): void {
  if (budget <= 0 || weights.length === 0) return;
  const tensors = weights.map((w): Tensor => (isFp8Weight(w) ? w.data : w));
  const device = tensors[0].device;
  const ranges: { tensor: Tensor; bytes: number }[] = [];
  let left = budget;
  for (const tensor of tensors) {
    if (left <= 0) break;
    const bytes = Math.min(left, tensor.numel * DTYPE_BYTES[tensor.dtype]);
    ranges.push({ tensor, bytes });
    left -= bytes;
  }
  device.backend.prefetch(ranges);
}
