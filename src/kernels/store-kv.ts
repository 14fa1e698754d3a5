import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectRank, expectSameFloat, expectShape, sameDevice } from "./check.js";

/**
 * Writes this step's keys and values k, v [T, Hk, D] into the layer's caches [numSlots, Hk, D] at the rows
 * slotMapping I32 [T] gives (slot = page * pageSize + offset); a negative slot skips the token.
 */
export function storeKV(k: Tensor, v: Tensor, kCache: Tensor, vCache: Tensor, slotMapping: Tensor): void {
  const kernel = "storeKV";
  const device = sameDevice(kernel, { k, v, kCache, vCache, slotMapping });
  expectSameFloat(kernel, ["k", k], { v, kCache, vCache });
  expectRank(kernel, "k", k, 3);
  expectShape(kernel, "v", v, k.shape);
  expectShape(kernel, "kCache", kCache, ["numSlots", k.shape[1], k.shape[2]]);
  expectShape(kernel, "vCache", vCache, kCache.shape);
  expectCondition(kernel, kCache.storage !== vCache.storage || kCache.offset !== vCache.offset, "kCache and vCache are the same tensor");
  expectDType(kernel, "slotMapping", slotMapping, "I32");
  expectShape(kernel, "slotMapping", slotMapping, [k.shape[0]]);
  device.backend.storeKV(k, v, kCache, vCache, slotMapping);
}
