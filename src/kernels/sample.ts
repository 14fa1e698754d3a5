import type { SamplingTensors } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectRank, expectShape, output, sameDevice } from "./check.js";

/**
 * One token per row of logits F32 [B, V] (unchanged) under per-row temperature, top-k, top-p and min-p, drawn
 * with the given uniform numbers (see `SamplingTensors`); temperature 0 or top-k 1 is greedy. Returns I32 [B].
 * Apply penalties first (`applyPenalties`).
 */
export function sample(logits: Tensor, params: SamplingTensors, out?: Tensor): Tensor {
  const kernel = "sample";
  const { temperature, topK, topP, minP, uniform } = params;
  const device = sameDevice(kernel, { logits, temperature, topK, topP, minP, uniform, out });
  expectDType(kernel, "logits", logits, "F32");
  expectRank(kernel, "logits", logits, 2);
  const B = logits.shape[0];
  for (const [name, t] of Object.entries({ temperature, topP, minP, uniform })) {
    expectDType(kernel, name, t, "F32");
    expectShape(kernel, name, t, [B]);
  }
  expectDType(kernel, "topK", topK, "I32");
  expectShape(kernel, "topK", topK, [B]);
  const result = output(kernel, device, out, [B], "I32");
  device.backend.sample(result, logits, params);
  return result;
}
