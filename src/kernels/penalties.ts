import type { Penalties } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectRank, expectShape, sameDevice } from "./check.js";

/**
 * In place on logits F32 [B, V], in SGLang's order: frequency and presence penalties on output tokens, then the
 * repetition penalty on every token of prompt + output (see `Penalties`). Returns logits.
 */
export function applyPenalties(logits: Tensor, penalties: Penalties): Tensor {
  const kernel = "applyPenalties";
  const { tokenIds, outputCounts, rowStart, repetition, frequency, presence } = penalties;
  const device = sameDevice(kernel, { logits, tokenIds, outputCounts, rowStart, repetition, frequency, presence });
  expectDType(kernel, "logits", logits, "F32");
  expectRank(kernel, "logits", logits, 2);
  const B = logits.shape[0];
  expectDType(kernel, "tokenIds", tokenIds, "I32");
  expectRank(kernel, "tokenIds", tokenIds, 1);
  expectDType(kernel, "outputCounts", outputCounts, "I32");
  expectShape(kernel, "outputCounts", outputCounts, tokenIds.shape);
  expectDType(kernel, "rowStart", rowStart, "I32");
  expectShape(kernel, "rowStart", rowStart, [B + 1]);
  for (const [name, t] of Object.entries({ repetition, frequency, presence })) {
    expectDType(kernel, name, t, "F32");
    expectShape(kernel, name, t, [B]);
  }
  device.backend.applyPenalties(logits, penalties);
  return logits;
}
