import type { AttentionOptions, Segments } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

/**
 * Attention inside packed segments (the vision tower's windows, images, tiles): q [T, Hq, D], k and v [T, Hk, D],
 * segments.cuSeqlens I32 [S+1] from 0 to T; KV head j serves q heads j*g .. j*g+g-1. Returns [T, Hq, D].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, segments: Segments, options: AttentionOptions, out?: Tensor): Tensor {
  const kernel = "attention";
  const device = sameDevice(kernel, { q, k, v, cuSeqlens: segments.cuSeqlens, out });
  expectSameFloat(kernel, ["q", q], { k, v });
  expectRank(kernel, "q", q, 3);
  const [T, Hq, D] = q.shape;
  expectShape(kernel, "k", k, [T, "Hk", D]);
  expectShape(kernel, "v", v, k.shape);
  const Hk = k.shape[1];
  expectCondition(kernel, Hk > 0 && Hq % Hk === 0, `q heads (${Hq}) must be a multiple of kv heads (${Hk})`);
  checkSegments(kernel, segments, options);
  const result = output(kernel, device, out, q.shape, q.dtype);
  expectNoOverlap(kernel, result, { q, k, v });
  device.backend.attention(result, q, k, v, segments, options);
  return result;
}

/** The segments and options of a varlen attention (cuSeqlens' values are the backend's to check). */
export function checkSegments(kernel: string, segments: Segments, options: AttentionOptions): void {
  const { cuSeqlens } = segments;
  expectDType(kernel, "cuSeqlens", cuSeqlens, "I32");
  expectRank(kernel, "cuSeqlens", cuSeqlens, 1);
  expectCondition(kernel, cuSeqlens.shape[0] >= 1, "cuSeqlens needs at least one entry ([0] for no segments)");
  expectCondition(kernel, Number.isInteger(segments.maxSeqLen) && segments.maxSeqLen >= 0, `maxSeqLen must be a non-negative integer, got ${segments.maxSeqLen}`);
  expectCondition(kernel, Number.isFinite(options.scale), `scale must be finite, got ${options.scale}`);
}
