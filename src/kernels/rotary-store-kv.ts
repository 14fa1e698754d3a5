import type { QkAfterRotary, RotaryStyle } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { empty } from "../runtime/creation.js";
import { expectCondition, expectDType, expectRank, expectSameFloat, expectShape, sameDevice } from "./check.js";

/**
 * From the fused projection qkv [T, (Hq + 2 Hk) D]: returns the rotated queries [T, Hq, D], and stores the rotated
 * keys and the values in the layer's caches [numSlots, Hk, D] at slotMapping I32 [T] (negative: skipped). One kernel
 * for what splitting the columns, two `applyRotary` and `storeKV` do; with `after`, also Llama 4's QK norm or its
 * query temperature (and no rotation on its NoPE layers), which took five more kernels.
 */
export function rotaryStoreKV(qkv: Tensor, numHeads: number, kCache: Tensor, vCache: Tensor, cos: Tensor, sin: Tensor,
  slotMapping: Tensor, style: RotaryStyle, after: QkAfterRotary = {}): Tensor {
  const kernel = "rotaryStoreKV";
  const device = sameDevice(kernel, { qkv, kCache, vCache, cos, sin, slotMapping });
  expectSameFloat(kernel, ["qkv", qkv], { kCache, vCache });
  expectRank(kernel, "qkv", qkv, 2);
  expectRank(kernel, "kCache", kCache, 3);
  expectShape(kernel, "vCache", vCache, kCache.shape);
  const [T, width] = qkv.shape, [, Hk, D] = kCache.shape;
  expectCondition(kernel, width === (numHeads + 2 * Hk) * D, `qkv has ${width} columns, (${numHeads} + 2 x ${Hk}) x ${D} expected`);
  expectDType(kernel, "cos", cos, "F32");
  expectDType(kernel, "sin", sin, "F32");
  expectShape(kernel, "cos", cos, [T, "R"]);
  expectShape(kernel, "sin", sin, cos.shape);
  expectCondition(kernel, 2 * cos.shape[1] <= D, `cos/sin rotate ${2 * cos.shape[1]} dims but heads have ${D}`);
  expectDType(kernel, "slotMapping", slotMapping, "I32");
  expectShape(kernel, "slotMapping", slotMapping, [T]);
  expectCondition(kernel, style === "neox" || style === "interleaved", `style must be "neox" or "interleaved", got ${String(style)}`);
  if (after.qkNormEps !== undefined) {
    expectCondition(kernel, Number.isFinite(after.qkNormEps) && after.qkNormEps > 0, `qkNormEps must be a positive number, got ${after.qkNormEps}`);
  }
  if (after.queryScales !== undefined) {
    sameDevice(kernel, { qkv, queryScales: after.queryScales });
    expectDType(kernel, "queryScales", after.queryScales, "F32");
    expectShape(kernel, "queryScales", after.queryScales, [T]);
  }
  const q = empty(device, [T, numHeads, D], qkv.dtype);
  device.backend.rotaryStoreKV(q, kCache, vCache, qkv, cos, sin, slotMapping, style, after);
  return q;
}
