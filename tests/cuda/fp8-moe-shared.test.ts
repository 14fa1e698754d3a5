// Llama 4's shared expert folded into the routed experts' FP8 decode products (native/cuda/include/
// fp8_shared_expert.cuh, kernels/moe-fp8-shared.ts) on cuda: the fold against the same call run kernel by kernel
// (tuneCudaKernels fp8MoeSharedFold: false), bit for bit in bf16 and F32, at Scout's widths and small ones, with the
// weight streaming on the CUDA cores, on the tensor cores and by the rule; where it may fold and where it declines
// (Scout's 4 tokens: two activations of 8,192 bytes a token past the 32 KB of x); against the cpu (which runs the kernels
// one by one); and captured in a graph. Every input is random and nonzero, outputs poisoned first.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { moeTop1SigmoidFp8WithShared } from "../../src/kernels/moe-fp8-shared.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { DECODE_MOE_SHAPES, deviceMoeWeights, offTheBf16Grid, quantizedPair, routedLogits, withTuning } from "./fp8-harness.js";
import { captureGraph, cpuTensor, cuda, expectRelL2, floatPair, host, poisonedPair, randomValues, rng, skipCuda } from "./harness.js";

describe("cuda FP8 MoE with the shared expert folded in", { skip: skipCuda }, () => {
  const random = rng(2027);

  test("folded: the bits of the kernels one by one (bf16 and F32, Scout's widths and small, each weight streaming)", async () => {
    // Tokens routed apart and together among 16 experts or 2; Scout's H 5120, I 8192 folds up to 2 tokens (2 T I bytes of
    // activations within 32 KB) and declines 4.
    for (const [H, I, E, routes] of DECODE_MOE_SHAPES) {
      const { gateUp, down, shared } = deviceMoeWeights(H, I, E);
      for (const route of routes) {
        const T = route.length;
        const logits = routedLogits(random, route, E);
        const xValues = randomValues(random, T * H, -1, 1);
        for (const dtype of ["BF16", "F32"] as const) {
          const [, gx] = floatPair(xValues, [T, H], dtype);
          const [, gl] = floatPair(logits, [T, E], dtype);
          for (const fp8ProductOnTensorCores of [undefined, false, true]) {
            // The fold with no weights sent to L2 before its waits (budget 0), the default's, and whole first passes.
            const run = (fold: boolean, fp8PrefetchBudget?: number) => withTuning({ fp8MoeSharedFold: fold, fp8ProductOnTensorCores, fp8PrefetchBudget }, async () => {
              const [, out] = poisonedPair([T, H], dtype === "F32" ? "F32" : "float");
              const folded = cuda().backend.moeTop1SigmoidFp8Shared!(out, gx, gl, gateUp, down, shared.gateUp, shared.down);
              if (!folded) moeTop1SigmoidFp8WithShared(gx, gl, gateUp, down, shared, out);
              return { folded, values: Array.from(await host(out)) };
            });
            const [folded, separate] = [await run(true), await run(false)];
            const label = `moe fp8 + shared ${dtype} H=${H} I=${I} experts ${route.join(",")} tensor cores ${fp8ProductOnTensorCores}`;
            assert.equal(folded.folded, 2 * T * I <= 32 * 1024, `${label}: folds where x's two activations fit`);
            assert.equal(separate.folded, false, `${label}: fp8MoeSharedFold false runs the kernels one by one`);
            assert.ok(separate.values.every(Number.isFinite), label);
            assert.deepEqual(folded.values, separate.values, label);
            for (const budget of [0, 1000]) {
              assert.deepEqual((await run(true, budget)).values, folded.values, `${label}: the prefetch budget at ${budget} MB`);
            }
          }
        }
      }
    }
  });

  // The fold is forced on in the two tests below: the rule leaves it off until the bit test above passes on a GPU
  // (kSharedFoldDefault in fp8_moe.cu).
  test("folded: the same outputs as the cpu's kernels one by one (F32, 1 to 4 tokens)", () => withTuning({ fp8MoeSharedFold: true }, async () => {
    const [H, I, E] = [256, 384, 8];
    const [cgu, ggu] = await quantizedPair(randomValues(random, E * H * 2 * I, -2 / Math.sqrt(H), 2 / Math.sqrt(H)), [E, H, 2 * I], true);
    const [cdn, gdn] = await quantizedPair(randomValues(random, E * I * H, -2 / Math.sqrt(I), 2 / Math.sqrt(I)), [E, I, H], true);
    const [csgu, gsgu] = await quantizedPair(randomValues(random, 2 * I * H, -2 / Math.sqrt(H), 2 / Math.sqrt(H)), [2 * I, H]);
    const [csdn, gsdn] = await quantizedPair(randomValues(random, H * I, -2 / Math.sqrt(I), 2 / Math.sqrt(I)), [H, I]);
    for (const T of [1, 2, 3, 4]) {
      // Values off bf16's grid (all 24 bits), so no scaled input sits on an E4M3 midpoint that fp32's last bit decides.
      const xValues = offTheBf16Grid(randomValues(random, T * H, -1, 1), random);
      const logits = randomValues(random, T * E, -3, 3);
      const [cx, gx] = floatPair(xValues, [T, H], "F32");
      const [cl, gl] = floatPair(logits, [T, E], "F32");
      const [, go] = poisonedPair([T, H], "F32");
      assert.equal(cuda().backend.moeTop1SigmoidFp8Shared!(go, gx, gl, ggu, gdn, gsgu, gsdn), true, `T=${T} folds`);
      const expected = moeTop1SigmoidFp8WithShared(cx, cl, cgu, cdn, { gateUp: csgu, down: csdn });
      const got = await host(go);
      assert.ok(got.every(Number.isFinite), `T=${T}: finite`);
      // The tensor cores' shorter sums (gate|up's 768 rows stay on the CUDA cores by the rule: at most 5,120) are not
      // in play here; fp32 sums in another order move a value across an E4M3 midpoint about once in a million.
      expectRelL2(got, await host(expected), 1e-3, `moe fp8 + shared F32 T=${T}`);
    }
  }));

  test("folded, captured in a graph, replays on new inputs as the cpu computes them", () => withTuning({ fp8MoeSharedFold: true }, async () => {
    const backend = cuda().backend as CudaBackend;
    const [T, H, E, I] = [2, 256, 4, 128];
    const [cgu, ggu] = await quantizedPair(randomValues(random, E * H * 2 * I, -0.1, 0.1), [E, H, 2 * I], true);
    const [cdn, gdn] = await quantizedPair(randomValues(random, E * I * H, -0.1, 0.1), [E, I, H], true);
    const [csgu, gsgu] = await quantizedPair(randomValues(random, 2 * I * H, -0.1, 0.1), [2 * I, H]);
    const [csdn, gsdn] = await quantizedPair(randomValues(random, H * I, -0.1, 0.1), [H, I]);
    const [, gx] = floatPair(randomValues(random, T * H), [T, H], "F32");
    const [, gl] = floatPair(randomValues(random, T * E, -3, 3), [T, E], "F32");
    const arena = backend.createArena(1 << 20);
    let out!: Tensor;
    const graph = captureGraph(backend, () => cuda().inArena(arena, () => {
      out = moeTop1SigmoidFp8WithShared(gx, gl, ggu, gdn, { gateUp: gsgu, down: gsdn });
    }));
    try {
      for (let round = 0; round < 3; round++) {
        const x = offTheBf16Grid(randomValues(random, T * H), random);
        const logits = randomValues(random, T * E, -3, 3);
        backend.upload(gx, x);
        backend.upload(gl, logits);
        backend.replay(graph);
        const expected = moeTop1SigmoidFp8WithShared(cpuTensor(x, [T, H]), cpuTensor(logits, [T, E]), cgu, cdn, { gateUp: csgu, down: csdn });
        expectRelL2(await host(out), await host(expected), 1e-3, `graph moe + shared round ${round}`);
      }
    } finally {
      backend.destroyGraph(graph);
      arena.destroy();
    }
  }));
});
