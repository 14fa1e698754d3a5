// The tensor-core FP8 decode products with each 16-row tile of weights copied into shared memory whole
// (native/cuda/include/fp8_stream_bulk.cuh, tuneCudaKernels fp8BulkRows) on cuda: the same K slices and sums as the
// streaming through registers (MmaRows), so the same bits, for the plain product at Scout's widths and small ones
// (rows past N, K not a multiple of 64, warps without a slice, 1 to 4 tokens, bf16 and F32), where it declines (K =
// 8,192: the tile past its shared memory), for the routed experts and for the shared expert folded in (whose gate|up
// takes the bulk copies and whose paired down does not), and captured in a graph replayed. Outputs poisoned first.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import { DECODE_MOE_SHAPES, deviceFp8, deviceMoeWeights, routedLogits, withTuning } from "./fp8-harness.js";
import { captureGraph, cuda, floatPair, host, poisonedPair, randomValues, rng, skipCuda } from "./harness.js";

/** `run`'s output with the tensor-core products by bulk copies and through registers: the two must agree bit for bit. */
async function bothWays(label: string, run: () => Promise<number[]>): Promise<void> {
  const registers = await withTuning({ fp8ProductOnTensorCores: true, fp8BulkRows: false }, run);
  const bulk = await withTuning({ fp8ProductOnTensorCores: true, fp8BulkRows: true }, run);
  assert.ok(registers.every(Number.isFinite), `${label}: finite`);
  assert.deepEqual(bulk, registers, `${label}: bulk copies against registers`);
}

describe("cuda FP8 products by bulk copies", { skip: skipCuda }, () => {
  const random = rng(3119);

  test("linearFp8 quantizing inside: the bits of the register streaming (Scout's widths and small; K 8,192 declines)", async () => {
    for (const [T, K, N] of [[1, 5120, 7168], [1, 5120, 5120], [2, 5120, 16384], [4, 5120, 200], [3, 1040, 40],
      [1, 336, 24], [2, 16, 33], [1, 8192, 5120]] as const) {
      const w = deviceFp8([N, K], 29 + N + K);
      for (const dtype of ["BF16", "F32"] as const) {
        const [, gx] = floatPair(randomValues(random, T * K, -2, 2), [T, K], dtype);
        await bothWays(`${dtype} [${T}x${K}]·[${N}x${K}]ᵀ`, async () => {
          const [, out] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
          cuda().backend.linearFp8(out, gx, null, w, null);
          return Array.from(await host(out));
        });
      }
    }
  });

  test("moeTop1SigmoidFp8, alone and with the shared expert folded in: the bits of the register streaming", async () => {
    for (const [H, I, E, routes] of DECODE_MOE_SHAPES) {
      const { gateUp, down, shared } = deviceMoeWeights(H, I, E);
      for (const route of routes) {
        const T = route.length;
        const [, gx] = floatPair(randomValues(random, T * H, -1, 1), [T, H], "BF16");
        const [, gl] = floatPair(routedLogits(random, route, E), [T, E], "BF16");
        const label = `H=${H} I=${I} experts ${route.join(",")}`;
        await bothWays(`moe fp8 ${label}`, async () => {
          const [, out] = poisonedPair([T, H], "float");
          cuda().backend.moeTop1SigmoidFp8(out, gx, gl, gateUp, down);
          return Array.from(await host(out));
        });
        await bothWays(`moe fp8 + shared ${label}`, async () => {
          const [, out] = poisonedPair([T, H], "float");
          if (!cuda().backend.moeTop1SigmoidFp8Shared!(out, gx, gl, gateUp, down, shared.gateUp, shared.down)) {
            cuda().backend.moeTop1SigmoidFp8(out, gx, gl, gateUp, down);  // past the fold's sizes: the routed experts alone
          }
          return Array.from(await host(out));
        });
      }
    }
  });

  test("captured in a graph and replayed with new inputs: the eager call's bits", () => withTuning({ fp8ProductOnTensorCores: true, fp8BulkRows: true }, async () => {
    const backend = cuda().backend as CudaBackend;
    const [T, K, N] = [1, 5120, 7168];
    const w = deviceFp8([N, K], 31);
    // F32 activations: upload takes the values as the tensor stores them.
    const [, gx] = floatPair(randomValues(random, T * K, -2, 2), [T, K], "F32");
    const [, out] = poisonedPair([T, N], "F32");
    const graph = captureGraph(backend, () => backend.linearFp8(out, gx, null, w, null));
    try {
      const replayed: number[][] = [];
      for (let round = 0; round < 2; round++) {
        backend.upload(gx, randomValues(random, T * K, -2, 2));
        backend.replay(graph);
        replayed.push(Array.from(await host(out)));
        const [, eager] = poisonedPair([T, N], "F32");
        backend.linearFp8(eager, gx, null, w, null);
        assert.deepEqual(replayed[round], Array.from(await host(eager)), `replay ${round}`);
      }
      assert.notDeepEqual(replayed[0], replayed[1], "the replays read the new inputs");
    } finally {
      backend.destroyGraph(graph);
    }
  }));
});
