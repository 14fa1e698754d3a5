import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectRank, sameDevice } from "./check.js";

/**
 * Structured output's mask, in place on logits F32 [B, V]: row rows[m] keeps only the tokens whose bit is set in
 * bitmask[m] (I32 [M, W], bit t & 31 of word t >> 5, W >= ceil(V / 32)); the others become -inf. Returns logits.
 */
export function applyTokenMask(logits: Tensor, bitmask: Tensor, rows: Tensor): Tensor {
  const kernel = "applyTokenMask";
  const device = sameDevice(kernel, { logits, bitmask, rows });
  expectDType(kernel, "logits", logits, "F32");
  expectRank(kernel, "logits", logits, 2);
  expectDType(kernel, "bitmask", bitmask, "I32");
  expectRank(kernel, "bitmask", bitmask, 2);
  expectDType(kernel, "rows", rows, "I32");
  expectRank(kernel, "rows", rows, 1);
  const [B, V] = logits.shape, [M, W] = bitmask.shape;
  expectCondition(kernel, rows.shape[0] === M, `rows has ${rows.shape[0]} entries for ${M} mask rows`);
  expectCondition(kernel, M <= B, `${M} mask rows for ${B} logit rows`);
  expectCondition(kernel, W * 32 >= V, `${W} mask words per row cover ${W * 32} tokens, fewer than the vocabulary's ${V}`);
  device.backend.applyTokenMask(logits, bitmask, rows);
  return logits;
}
