// The decode products that carry a layer's norm and residual add (native/cuda/kernels/gemv.cu's NORM and RESIDUAL
// edges) against the kernels they replace: on cuda itself bit for bit (the norm summed as addRmsNorm sums a row of
// 2,048, the product the same gemv), and against the cpu within bf16's tolerance at every width.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import { cpu, cuda, expectBf16Match, floatPair, host, poisonedPair, randomValues, rng, skipCuda } from "./harness.js";
import { empty } from "../../src/runtime/creation.js";

describe("cuda normed and residual products", { skip: skipCuda }, () => {
  const random = rng(17);
  const backend = () => cuda().backend as CudaBackend;
  const eps = 1e-6;

  test("rmsNormLinear: addRmsNorm's bits then gemv, plain (with a bias) and gated, one and two rows", async () => {
    for (const [T, K, N, gated] of [[1, 2048, 2560, false], [2, 2048, 11008, true], [1, 3584, 37, false], [2, 80, 24, true], [1, 2048, 5, true]] as const) {
      const rows = gated ? 2 * N : N;
      const [ch, gh] = floatPair(randomValues(random, T * K, -3, 3), [T, K]);
      const [cn, gn] = floatPair(randomValues(random, K, 0.5, 1.5), [K]);
      // Weights of a trained layer's scale: outputs near 1, so the bf16 roundings of the normed x, of gate and up stay
      // within bf16's tolerance of the cpu's float32 (at ±0.1, gate and up near 5 put their roundings past it).
      const [cw, gw] = floatPair(randomValues(random, rows * K, -0.02, 0.02), [rows, K]);
      const [cb, gb] = floatPair(randomValues(random, rows, -1, 1), [rows]);
      const [, go] = poisonedPair([T, N]);
      assert.equal(backend().fusesNormedProducts(gh.dtype, T, K), true, `[${T}, ${K}] fuses`);
      assert.equal(backend().rmsNormLinear(go, gh, gn, eps, gw, gb, gated), true, `[${T}, ${K}] x ${rows}: fused`);
      // The kernels apart on cuda: addRmsNorm over a zero update (its norm of h), then the same product.
      const [, zero] = floatPair(new Float32Array(T * K), [T, K]);
      const normed = empty(cuda(), [T, K], "BF16"), product = empty(cuda(), [T, rows], "BF16"), apart = empty(cuda(), [T, N], "BF16");
      backend().addRmsNorm(normed, gh, zero, gn, eps);
      backend().linear(product, normed, gw, gb);
      if (gated) backend().siluAndMul(apart, product);
      const separate = gated ? apart : product;
      const what = `rmsNormLinear [${T}, ${K}] x ${rows}${gated ? " gated" : ""}`;
      // Bit for bit where the norm's threads hold the row as addRmsNorm's do (K = 8 x 256).
      if (K === 2048) assert.deepEqual(await host(go), await host(separate), `${what}: the separate kernels' bits`);
      // The cpu's norm and product in float32.
      const cnormed = empty(cpu, [T, K], "F32"), cproduct = empty(cpu, [T, rows], "F32");
      cpu.backend.rmsNorm(cnormed, ch, cn, eps);
      cpu.backend.linear(cproduct, cnormed, cw, cb);
      const cout = gated ? empty(cpu, [T, N], "F32") : cproduct;
      if (gated) cpu.backend.siluAndMul(cout, cproduct);
      await expectBf16Match(cout, go, what, 1e-2);
    }
  });

  test("linearAddResidual: gemv then add, bit for bit, short and long rows", async () => {
    for (const [T, K, N] of [[1, 2048, 2048], [2, 11008, 2048], [1, 136, 40]] as const) {
      const residual = randomValues(random, T * N, -4, 4);
      const [, gr] = floatPair(residual, [T, N]);
      const [, gapart] = floatPair(residual, [T, N]);
      const [, gx] = floatPair(randomValues(random, T * K, -1, 1), [T, K]);
      const [, gw] = floatPair(randomValues(random, N * K, -0.1, 0.1), [N, K]);
      assert.equal(backend().linearAddResidual(gr, gx, gw, null), true, `[${T}, ${K}] x ${N}: fused`);
      const product = empty(cuda(), [T, N], "BF16");
      backend().linear(product, gx, gw, null);
      backend().add(gapart, gapart, product);
      assert.deepEqual(await host(gr), await host(gapart), `linearAddResidual [${T}, ${K}] x ${N}`);
    }
  });

  test("they decline, enqueueing nothing, past the skinny products: three rows, rows wider than the norm's buffer", () => {
    const [, gh] = floatPair(randomValues(random, 3 * 64, -1, 1), [3, 64]);
    const [, gn] = floatPair(randomValues(random, 64, 0.5, 1.5), [64]);
    const [, gw] = floatPair(randomValues(random, 8 * 64, -1, 1), [8, 64]);
    const [, go] = poisonedPair([3, 8]);
    assert.equal(backend().fusesNormedProducts(gh.dtype, 3, 64), false);
    assert.equal(backend().rmsNormLinear(go, gh, gn, eps, gw, null, false), false);
    assert.equal(backend().linearAddResidual(go, gh, gw, null), false);
    assert.equal(backend().fusesNormedProducts(gh.dtype, 1, 8192), false);
  });
});
