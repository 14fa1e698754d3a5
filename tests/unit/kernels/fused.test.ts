/**
 * The fused kernels equal the sequences they replace, exactly on the cpu: addRmsNorm = add in place, then rmsNorm;
 * rotaryStoreKV = slice q|k|v, rotate q and k, store k and v (padding slots skipped, other cache rows untouched); with
 * Llama 4's steps also the QK norm after the rotation, or the query temperature without one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { addRmsNorm } from "../../../src/kernels/add-rms-norm.js";
import { addInPlace } from "../../../src/kernels/add.js";
import { applyRotary } from "../../../src/kernels/apply-rotary.js";
import { rmsNorm } from "../../../src/kernels/rms-norm.js";
import { rotaryStoreKV } from "../../../src/kernels/rotary-store-kv.js";
import { scaleRows } from "../../../src/kernels/scale-rows.js";
import { sliceColumns } from "../../../src/kernels/slice-columns.js";
import { storeKV } from "../../../src/kernels/store-kv.js";
import { assertIrisError, f32Tensor, i32Tensor, randomTensor, read, rng } from "./helpers.js";

test("addRmsNorm equals the residual add followed by rmsNorm, with and without a weight", async () => {
  const random = rng(3);
  for (const weighted of [true, false]) {
    const h = randomTensor([5, 24], random), x = randomTensor([5, 24], random), w = randomTensor([24], random);
    const weight = weighted ? w.t : null;
    const residual = f32Tensor(h.data.slice(), [5, 24]);
    const fused = addRmsNorm(residual, x.t, weight, 1e-6);
    const expectedResidual = addInPlace(f32Tensor(h.data.slice(), [5, 24]), x.t);
    assert.deepEqual(await read(residual), await read(expectedResidual));
    assert.deepEqual(await read(fused), await read(rmsNorm(expectedResidual, weight, 1e-6)));
  }
  const r = randomTensor([2, 8], random);
  assertIrisError(() => addRmsNorm(r.t, r.t, null, 1e-6, r.t), "INVALID_ARGUMENT", /overlaps residual/);
});

for (const style of ["neox", "interleaved"] as const) {
  test(`rotaryStoreKV (${style}) equals slicing, two rotations and storeKV`, async () => {
    const random = rng(style === "neox" ? 4 : 5);
    const T = 4, Hq = 4, Hk = 2, D = 8, R = 3, slotsTotal = 10;
    const qkv = randomTensor([T, (Hq + 2 * Hk) * D], random);
    const cos = randomTensor([T, R], random), sin = randomTensor([T, R], random);
    const slots = i32Tensor([7, -1, 0, 3]);
    const cache = () => randomTensor([slotsTotal, Hk, D], rng(9)).t;
    const [kFused, vFused, kRef, vRef] = [cache(), cache(), cache(), cache()];
    const q = rotaryStoreKV(qkv.t, Hq, kFused, vFused, cos.t, sin.t, slots, style);
    const qRef = sliceColumns(qkv.t, 0, Hq * D).view([T, Hq, D]);
    const k = sliceColumns(qkv.t, Hq * D, Hk * D).view([T, Hk, D]);
    const v = sliceColumns(qkv.t, (Hq + Hk) * D, Hk * D).view([T, Hk, D]);
    applyRotary(qRef, cos.t, sin.t, style);
    applyRotary(k, cos.t, sin.t, style);
    storeKV(k, v, kRef, vRef, slots);
    assert.deepEqual(await read(q), await read(qRef));
    assert.deepEqual(await read(kFused), await read(kRef));
    assert.deepEqual(await read(vFused), await read(vRef));
    assertIrisError(() => rotaryStoreKV(qkv.t, Hq + 1, kFused, vFused, cos.t, sin.t, slots, style), "INVALID_ARGUMENT", /columns/);
  });
}

for (const layer of ["RoPE with the QK norm", "NoPE with the temperature"] as const) {
  test(`rotaryStoreKV for Llama 4's ${layer} equals the separate kernels`, async () => {
    const rope = layer.startsWith("RoPE");
    const random = rng(rope ? 6 : 7);
    const T = 3, Hq = 5, Hk = 1, D = 8, R = 4, slotsTotal = 6, eps = 1e-5;
    const qkv = randomTensor([T, (Hq + 2 * Hk) * D], random, 3);
    const cos = randomTensor([T, R], random), sin = randomTensor([T, R], random);
    const scales = randomTensor([T], random);
    const slots = i32Tensor([2, 5, -1]);
    const cache = () => randomTensor([slotsTotal, Hk, D], rng(10)).t;
    const [kFused, vFused, kRef, vRef] = [cache(), cache(), cache(), cache()];
    const after = rope ? { qkNormEps: eps } : { rotate: false, queryScales: scales.t };
    const q = rotaryStoreKV(qkv.t, Hq, kFused, vFused, cos.t, sin.t, slots, "interleaved", after);
    const qRef = sliceColumns(qkv.t, 0, Hq * D).view([T, Hq, D]);
    const k = sliceColumns(qkv.t, Hq * D, Hk * D).view([T, Hk, D]);
    const v = sliceColumns(qkv.t, (Hq + Hk) * D, Hk * D).view([T, Hk, D]);
    if (rope) {
      applyRotary(qRef, cos.t, sin.t, "interleaved");
      applyRotary(k, cos.t, sin.t, "interleaved");
      rmsNorm(qRef, null, eps, qRef);
      rmsNorm(k, null, eps, k);
    } else {
      scaleRows(qRef, scales.t, qRef);
    }
    storeKV(k, v, kRef, vRef, slots);
    assert.deepEqual(await read(q), await read(qRef));
    assert.deepEqual(await read(kFused), await read(kRef));
    assert.deepEqual(await read(vFused), await read(vRef));
  });
}

test("rotaryStoreKV refuses a non-positive QK-norm epsilon and query scales of the wrong length", () => {
  const random = rng(8);
  const qkv = randomTensor([2, 4 * 8], random), cos = randomTensor([2, 4], random), sin = randomTensor([2, 4], random);
  const kc = randomTensor([4, 1, 8], random).t, vc = randomTensor([4, 1, 8], random).t, slots = i32Tensor([0, 1]);
  assertIrisError(() => rotaryStoreKV(qkv.t, 2, kc, vc, cos.t, sin.t, slots, "interleaved", { qkNormEps: 0 }), "INVALID_ARGUMENT", /qkNormEps/);
  assertIrisError(() => rotaryStoreKV(qkv.t, 2, kc, vc, cos.t, sin.t, slots, "interleaved", { queryScales: f32Tensor([1, 2, 3], [3]) }),
    "INVALID_ARGUMENT", /queryScales/);
});
