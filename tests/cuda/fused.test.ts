// The fused kernels of the cuda backend against the cpu kernels they replace.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { empty } from "../../src/runtime/creation.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { tuneCudaKernels } from "../../src/runtime/cuda/kernel-tuning.js";
import { cpu, cuda, expectBf16Match, floatPair, host, intPair, poisonedPair, randomValues, rng, skipCuda } from "./harness.js";

describe("cuda fused kernels", { skip: skipCuda }, () => {
  const random = rng(6);
  const backend = () => cuda().backend as CudaBackend;

  /** A fused q|k|v [T, width] and the cos and sin of random angles [T, R], on cpu and cuda. */
  function rotaryInputs(T: number, width: number, R: number) {
    const [cqkv, gqkv] = floatPair(randomValues(random, T * width, -2, 2), [T, width]);
    const angles = randomValues(random, T * R, -10, 10);
    const [cc, gc] = floatPair(Float32Array.from(angles, Math.cos), [T, R], "F32");
    const [cs, gs] = floatPair(Float32Array.from(angles, Math.sin), [T, R], "F32");
    return { cqkv, gqkv, cc, gc, cs, gs };
  }

  /** The cpu's unfused sequence rotaryStoreKV replaces (sliceColumns, applyRotary, storeKV): q, the caches updated. */
  function unfusedRotaryStoreKV(qkv: Tensor, cos: Tensor, sin: Tensor, slots: Tensor, kCache: Tensor, vCache: Tensor,
    [T, Hq, Hk, D]: readonly [number, number, number, number], style: "neox" | "interleaved"): Tensor {
    const parts = [Hq, Hk, Hk].map((h) => empty(cpu, [T, h * D], "F32"));
    let start = 0;
    for (const p of parts) {
      cpu.backend.sliceColumns(p, qkv, start);
      start += p.shape[1];
    }
    const [q, k, v] = parts.map((p, i) => p.view([T, i === 0 ? Hq : Hk, D]));
    cpu.backend.applyRotary(q, cos, sin, style);
    cpu.backend.applyRotary(k, cos, sin, style);
    cpu.backend.storeKV(k, v, kCache, vCache, slots);
    return q;
  }

  test("addRmsNorm equals add then rmsNorm, residual included", async () => {
    for (const [rows, H] of [[1, 2048], [7, 80], [33, 3584]]) {
      const [cr, gr] = floatPair(randomValues(random, rows * H, -4, 4), [rows, H]);
      const [cx, gx] = floatPair(randomValues(random, rows * H, -4, 4), [rows, H]);
      const [cw, gw] = floatPair(randomValues(random, H, 0.5, 1.5), [H]);
      cpu.backend.add(cr, cr, cx);
      const [co, go] = poisonedPair([rows, H]);
      cpu.backend.rmsNorm(co, cr, cw, 1e-6);
      backend().addRmsNorm(go, gr, gx, gw, 1e-6);
      await expectBf16Match(cr, gr, `residual [${rows}, ${H}]`, 1e-2);
      await expectBf16Match(co, go, `addRmsNorm [${rows}, ${H}]`, 1e-2);
    }
  });

  test("rotaryStoreKV equals sliceColumns, applyRotary and storeKV", async () => {
    for (const [T, Hq, Hk, D, R, style] of [[5, 16, 2, 128, 64, "neox"], [3, 4, 4, 16, 4, "interleaved"], [9, 5, 1, 128, 32, "interleaved"]] as const) {
      const width = (Hq + 2 * Hk) * D, numSlots = 64;
      const { cqkv, gqkv, cc, gc, cs, gs } = rotaryInputs(T, width, R);
      const slots = Array.from({ length: T }, (_, t) => (t === 1 ? -1 : (t * 7) % numSlots));
      const [csl, gsl] = intPair(slots);
      const cacheValues = randomValues(random, numSlots * Hk * D);
      const [ckc, gkc] = floatPair(cacheValues, [numSlots, Hk, D]);
      const [cvc, gvc] = floatPair(cacheValues, [numSlots, Hk, D]);
      const q = unfusedRotaryStoreKV(cqkv, cc, cs, csl, ckc, cvc, [T, Hq, Hk, D], style);
      const [, gq] = poisonedPair([T, Hq, D]);
      backend().rotaryStoreKV(gq, gkc, gvc, gqkv, gc, gs, gsl, style);
      await expectBf16Match(q, gq, `q ${style} D=${D}`, 1e-2);
      await expectBf16Match(ckc, gkc, `k cache ${style} D=${D}`, 1e-2);
      assert.deepEqual(await host(gvc), await host(cvc), "v cache");
    }
  });

  test("rotaryStoreKV at the decode batch 512 (Qwen2.5-VL-3B's heads): the 16-byte and one-value kernels equal the cpu's", async () => {
    const [T, Hq, Hk, D, R] = [512, 16, 2, 128, 64];
    const width = (Hq + 2 * Hk) * D, numSlots = 2 * T + 7;
    const { cqkv, gqkv, cc, gc, cs, gs } = rotaryInputs(T, width, R);
    // Scattered distinct slots (389 is prime to 1,031), padding rows (-1) among them.
    const slots = Array.from({ length: T }, (_, t) => (t % 97 === 5 ? -1 : (t * 389 + 11) % numSlots));
    const [csl, gsl] = intPair(slots);
    const cacheValues = randomValues(random, numSlots * Hk * D);
    const [ckc] = floatPair(cacheValues, [numSlots, Hk, D]), [cvc] = floatPair(cacheValues, [numSlots, Hk, D]);
    const q = unfusedRotaryStoreKV(cqkv, cc, cs, csl, ckc, cvc, [T, Hq, Hk, D], "neox");
    for (const rotaryStoreKVVec16 of [true, false]) {
      tuneCudaKernels({ rotaryStoreKVVec16 });
      try {
        const [, gkc] = floatPair(cacheValues, [numSlots, Hk, D]), [, gvc] = floatPair(cacheValues, [numSlots, Hk, D]);
        const [, gq] = poisonedPair([T, Hq, D]);
        backend().rotaryStoreKV(gq, gkc, gvc, gqkv, gc, gs, gsl, "neox");
        const kernel = rotaryStoreKVVec16 ? "16-byte" : "one-value";
        await expectBf16Match(q, gq, `q (${kernel})`, 1e-2);
        await expectBf16Match(ckc, gkc, `k cache (${kernel})`, 1e-2);
        assert.deepEqual(await host(gvc), await host(cvc), `v cache (${kernel})`);
      } finally {
        tuneCudaKernels({});
      }
    }
  });

  test("rotaryStoreKV with Llama 4's steps (QK norm after the rotation; temperature without it) equals the cpu's", async () => {
    for (const rope of [true, false]) {
      const [T, Hq, Hk, D, R, numSlots, eps] = [6, 40, 8, 128, 64, 32, 1e-5];
      const width = (Hq + 2 * Hk) * D;
      const [cqkv, gqkv] = floatPair(randomValues(random, T * width, -2, 2), [T, width]);
      const angles = randomValues(random, T * R, -10, 10);
      const [cc, gc] = floatPair(Float32Array.from(angles, Math.cos), [T, R], "F32");
      const [cs, gs] = floatPair(Float32Array.from(angles, Math.sin), [T, R], "F32");
      const [cscale, gscale] = floatPair(randomValues(random, T, 0.5, 2), [T], "F32");
      const [csl, gsl] = intPair(Array.from({ length: T }, (_, t) => (t === 2 ? -1 : (t * 5) % numSlots)));
      const cacheValues = randomValues(random, numSlots * Hk * D);
      const [ckc, gkc] = floatPair(cacheValues, [numSlots, Hk, D]);
      const [cvc, gvc] = floatPair(cacheValues, [numSlots, Hk, D]);
      const [cq, gq] = poisonedPair([T, Hq, D]);
      cpu.backend.rotaryStoreKV(cq, ckc, cvc, cqkv, cc, cs, csl, "interleaved", rope ? { qkNormEps: eps } : { rotate: false, queryScales: cscale });
      backend().rotaryStoreKV(gq, gkc, gvc, gqkv, gc, gs, gsl, "interleaved", rope ? { qkNormEps: eps } : { rotate: false, queryScales: gscale });
      const label = rope ? "rotated, QK norm" : "no rotation, temperature";
      await expectBf16Match(cq, gq, `q (${label})`, 1e-2);
      await expectBf16Match(ckc, gkc, `k cache (${label})`, 1e-2);
      assert.deepEqual(await host(gvc), await host(cvc), `v cache (${label})`);
    }
  });
});
