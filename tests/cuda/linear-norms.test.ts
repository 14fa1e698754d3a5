// Matrix products (cuBLASLt), normalizations and rotary embedding on cuda against the cpu backend.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sliceColumns } from "../../src/kernels/slice-columns.js";
import { cpu, cuda, expectBf16Match, expectClose, expectRelL2, floatPair, host, intPair, poisonedPair, randomValues, rng, skipCuda } from "./harness.js";

describe("cuda linear, norms and rotary", { skip: skipCuda }, () => {
  const random = rng(2);

  test("linear with and without bias, bf16 and F32, skinny (the gemv kernel, T <= 8) to square (cuBLASLt)", async () => {
    for (const [T, K, N, bias] of [[1, 64, 96, false], [7, 80, 48, true], [33, 256, 130, true], [128, 1024, 512, false], [1, 2048, 4096, true], [2, 1024, 200, true], [8, 512, 300, true], [9, 512, 300, false], [3, 11008, 64, false]] as const) {
      for (const dtype of ["BF16", "F32"] as const) {
        const [cx, gx] = floatPair(randomValues(random, T * K), [T, K], dtype);
        const [cw, gw] = floatPair(randomValues(random, N * K, -0.1, 0.1), [N, K], dtype);
        const [cb, gb] = bias ? floatPair(randomValues(random, N), [N], dtype) : [null, null];
        const [co, go] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
        cpu.backend.linear(co, cx, cw, cb);
        cuda().backend.linear(go, gx, gw, gb);
        const [a, e] = [await host(go), await host(co)];
        expectRelL2(a, e, dtype === "F32" ? 1e-5 : 1e-2, `linear ${dtype} [${T}x${K}]·[${N}x${K}]ᵀ${bias ? " + bias" : ""}`);
      }
    }
  });

  test("linear: token counts sharing a bucket's cuBLASLt algorithm (T rounded up to a power of two) each right", async () => {
    // 65..128 share one plan, its layouts set to each T in turn (128, 100, 65, 127, 64: back and forth in one bucket);
    // the wide N (past the gemv kernel's 65,536) takes small T to cuBLASLt too, where buckets 4 and 8 serve 3, 5, 6
    // and 7. 100 and 5 again, past OWN_AFTER calls (gemm_lt.cc's kOwnAfter): from then on the heuristic's own choice
    // for that T, while the bucket's plan still serves the others.
    const OWN_AFTER = 108;
    for (const [K, N, counts, repeated] of [[256, 384, [128, 100, 65, 127, 64], 100], [64, 70_000, [8, 3, 5, 6, 7, 4], 5], [256, 384, [127, 65], 65]] as const) {
      const [cw, gw] = floatPair(randomValues(random, N * K, -0.1, 0.1), [N, K], "BF16");
      const [cb, gb] = floatPair(randomValues(random, N), [N], "BF16");
      for (const T of [...counts, repeated]) {
        const [cx, gx] = floatPair(randomValues(random, T * K), [T, K], "BF16");
        const [co, go] = poisonedPair([T, N], "float");
        cpu.backend.linear(co, cx, cw, cb);
        // The repeated count: called until its own algorithm serves, the last call checked.
        for (let call = 0; call < (T === repeated ? OWN_AFTER + 1 : 1); call++) cuda().backend.linear(go, gx, gw, gb);
        expectRelL2(await host(go), await host(co), 1e-2, `linear bf16 [${T}x${K}]·[${N}x${K}]ᵀ + bias`);
      }
    }
  });

  test("linearSiluAndMul: the fused gate|up product and activation at 1 and 2 rows equals linear then siluAndMul bit for bit", async () => {
    const backend = cuda().backend;
    // Qwen2.5-VL-3B's decoder MLP, an output count no block size divides, a bias, eight warps a row (K >= 8192).
    for (const [T, K, I, bias] of [[1, 2048, 11008, false], [2, 2048, 11008, false], [1, 256, 37, true], [2, 1024, 300, true], [1, 8192, 96, false]] as const) {
      const [, gx] = floatPair(randomValues(random, T * K), [T, K]);
      const [, gw] = floatPair(randomValues(random, 2 * I * K, -0.1, 0.1), [2 * I, K]);
      const [, gb] = bias ? floatPair(randomValues(random, 2 * I), [2 * I]) : [null, null];
      const [, fused] = poisonedPair([T, I]);
      const [, h] = poisonedPair([T, 2 * I]);
      const [, separate] = poisonedPair([T, I]);
      assert.equal(backend.linearSiluAndMul?.(fused, gx, gw, gb), true, `[${T}x${K}]·[${2 * I}x${K}]ᵀ takes the fused kernel`);
      backend.linear(h, gx, gw, gb);
      backend.siluAndMul(separate, h);
      assert.deepEqual(await host(fused), await host(separate), `linearSiluAndMul [${T}x${K}]·[${2 * I}x${K}]ᵀ${bias ? " + bias" : ""}`);
    }
    // Past the skinny products (16 rows: cuBLASLt) there is no fused kernel: nothing enqueued, the caller runs both.
    const [, gx] = floatPair(randomValues(random, 16 * 64), [16, 64]);
    const [, gw] = floatPair(randomValues(random, 2 * 32 * 64), [64, 64]);
    assert.equal(backend.linearSiluAndMul?.(poisonedPair([16, 32])[1], gx, gw, null), false);
  });

  test("rmsNorm (with and without weight), layerNorm, softmax", async () => {
    // Rows of whole 16-byte packs (up to 1024 of them) take the vector kernel; 1284 and 12000 the scalar one.
    for (const [rows, H] of [[1, 16], [5, 80], [64, 2048], [3, 5000], [4, 1284], [2, 12000]]) {
      const [cx, gx] = floatPair(randomValues(random, rows * H, -3, 3), [rows, H]);
      const [cw, gw] = floatPair(randomValues(random, H, 0.5, 1.5), [H]);
      const [cb, gb] = floatPair(randomValues(random, H), [H]);
      for (const weighted of [true, false]) {
        const [co, go] = poisonedPair([rows, H]);
        cpu.backend.rmsNorm(co, cx, weighted ? cw : null, 1e-6);
        cuda().backend.rmsNorm(go, gx, weighted ? gw : null, 1e-6);
        await expectBf16Match(co, go, `rmsNorm [${rows}, ${H}]${weighted ? "" : " weightless"}`, 1e-2);
      }
      let [co, go] = poisonedPair([rows, H]);
      cpu.backend.layerNorm(co, cx, cw, cb, 1e-5);
      cuda().backend.layerNorm(go, gx, gw, gb, 1e-5);
      await expectBf16Match(co, go, `layerNorm [${rows}, ${H}]`, 1e-2);
      [co, go] = poisonedPair([rows, H]);
      cpu.backend.softmax(co, cx);
      cuda().backend.softmax(go, gx);
      await expectBf16Match(co, go, `softmax [${rows}, ${H}]`, 1e-5);
    }
  });

  test("ropeCosSin: 1-D, M-RoPE sections and 2-D", async () => {
    for (const [T, P, R, sectioned] of [[5, 1, 8, false], [300, 3, 64, true], [64, 2, 20, true]] as const) {
      const positions = Array.from({ length: T * P }, () => Math.floor(random() * 40_000));
      const [cp, gp] = intPair(positions, [T, P]);
      const invFreq = Float32Array.from({ length: R }, (_, j) => Math.pow(1e6, -j / R));
      const [cf, gf] = floatPair(invFreq, [R], "F32");
      const section = sectioned ? intPair(Array.from({ length: R }, (_, j) => Math.floor((j * P) / R))) : [null, null];
      const [cc, gc] = poisonedPair([T, R], "F32");
      const [cs, gs] = poisonedPair([T, R], "F32");
      cpu.backend.ropeCosSin(cc, cs, cp, cf, section[0]);
      cuda().backend.ropeCosSin(gc, gs, gp, gf, section[1]);
      expectClose(await host(gc), await host(cc), 0, 2e-7, "cos");
      expectClose(await host(gs), await host(cs), 0, 2e-7, "sin");
    }
  });

  test("applyRotary neox and interleaved, partial rotation, head dims 16 to 128", async () => {
    for (const [T, heads, D, R] of [[3, 2, 16, 8], [40, 16, 128, 64], [20, 4, 80, 20], [9, 3, 88, 22], [5, 2, 128, 32]]) {
      for (const style of ["neox", "interleaved"] as const) {
        const values = randomValues(random, T * heads * D, -2, 2);
        const [cx, gx] = floatPair(values, [T, heads, D]);
        const angles = randomValues(random, T * R, -10, 10);
        const [cc, gc] = floatPair(Float32Array.from(angles, Math.cos), [T, R], "F32");
        const [cs, gs] = floatPair(Float32Array.from(angles, Math.sin), [T, R], "F32");
        cpu.backend.applyRotary(cx, cc, cs, style);
        cuda().backend.applyRotary(gx, gc, gs, style);
        await expectBf16Match(cx, gx, `applyRotary ${style} D=${D} R=${R}`, 1e-2);
      }
    }
  });

  test("applyRotary of q and k in one call: the vision shapes (16-byte packs) and the fallback, bf16 and F32", async () => {
    // q and k as separate tensors (the copies rotaryAttentionQKV falls back to): Qwen2.5-VL's 16 x 80
    // (1,000 rows), Llama 4's 16 x 88, half-widths off the 8-value pack (44, 22) and other head counts.
    const cases = [[1000, 16, 16, 80, 40], [64, 16, 16, 88, 44], [50, 8, 8, 64, 32], [33, 4, 2, 32, 16], [17, 2, 3, 88, 22]] as const;
    for (const [T, Hq, Hk, D, R] of cases) {
      for (const style of ["neox", "interleaved"] as const) {
        for (const dtype of ["BF16", "F32"] as const) {
          const [cf, gf] = floatPair(randomValues(random, T * (Hq + 2 * Hk) * D, -2, 2), [T, (Hq + 2 * Hk) * D], dtype);
          const [cq, gq] = [cf, gf].map((f) => sliceColumns(f, 0, Hq * D).view([T, Hq, D]));
          const [ck, gk] = [cf, gf].map((f) => sliceColumns(f, Hq * D, Hk * D).view([T, Hk, D]));
          const angles = randomValues(random, T * R, -10, 10);
          const [cc, gc] = floatPair(Float32Array.from(angles, Math.cos), [T, R], "F32");
          const [cs, gs] = floatPair(Float32Array.from(angles, Math.sin), [T, R], "F32");
          cpu.backend.applyRotary(cq, cc, cs, style, ck);
          cuda().backend.applyRotary(gq, gc, gs, style, gk);
          const what = `applyRotary q and k ${style} ${dtype} T=${T} Hq=${Hq} Hk=${Hk} D=${D} R=${R}`;
          for (const [c, g, name] of [[cq, gq, "q"], [ck, gk, "k"]] as const) {
            if (dtype === "F32") expectClose(await host(g), await host(c), 1e-5, 1e-5, `${what}: ${name}`);
            else await expectBf16Match(c, g, `${what}: ${name}`, 1e-2);
          }
        }
      }
    }
  });

  test("applyRotary of q and k at offsets in one buffer: 16-byte aligned or not, the values around them untouched", async () => {
    const [T, H, D, R] = [12, 4, 80, 40];
    const n = T * H * D;
    for (const lead of [8, 1]) {
      for (const style of ["neox", "interleaved"] as const) {
        const [cb, gb] = floatPair(randomValues(random, lead + 2 * n + 5, -2, 2), [lead + 2 * n + 5]);
        const angles = randomValues(random, T * R, -10, 10);
        const [cc, gc] = floatPair(Float32Array.from(angles, Math.cos), [T, R], "F32");
        const [cs, gs] = floatPair(Float32Array.from(angles, Math.sin), [T, R], "F32");
        for (const [b, c, s] of [[cb, cc, cs], [gb, gc, gs]] as const) {
          b.device.backend.applyRotary(b.narrow(lead, n).view([T, H, D]), c, s, style, b.narrow(lead + n, n).view([T, H, D]));
        }
        await expectBf16Match(cb, gb, `applyRotary q and k ${style}, ${lead} values before q`, 1e-2);
      }
    }
  });
});
