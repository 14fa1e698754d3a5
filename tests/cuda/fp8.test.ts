// The FP8 kernels on cuda against the cpu reference (src/runtime/cpu/fp8.ts): quantization byte for byte (rows and
// transposed expert stacks, bf16 and F32 inputs, outlier and zero rows), the FP8 product on the streaming kernel (at
// most 8 tokens), on cuBLASLt (more) and on the fallback (K not a multiple of 16), the FP8 experts (1 to 300 tokens,
// random and skewed routing, experts no token picks holding NaN bytes; F32 against the cpu, bf16 against exact
// activations; their products forced onto the tensor cores and onto the streaming kernel, and the two at Scout's
// widths against each other), the decode products quantizing inside with their dot products on the tensor cores and
// the CUDA cores (tuneCudaKernels fp8ProductOnTensorCores), dummy FP8 weights, and captured graphs.
// Every input is random and nonzero; both backends get the same FP8 bytes and scales wherever a product is compared.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { linearFp8, quantizesInProduct } from "../../src/kernels/linear-fp8.js";
import { quantizeFp8 } from "../../src/kernels/quantize-fp8.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import { fp8ProductOnTensorCoresInForce, tuneCudaKernels, type KernelTuning } from "../../src/runtime/cuda/kernel-tuning.js";
import { empty } from "../../src/runtime/creation.js";
import type { Fp8Weight } from "../../src/runtime/fp8-weight.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { bytesOf, deviceFp8, fp8Tensor, offTheBf16Grid, quantizedPair, routedLogits, withTuning } from "./fp8-harness.js";
import { captureGraph, cpu, cpuTensor, cuda, expectClose, expectRelL2, floatPair, host, poisonedPair, randomValues, relL2, rng, skipCuda } from "./harness.js";

/** An FP8 weight's values, bytes times their row's scale (float64). */
async function dequantized(w: Fp8Weight): Promise<Float64Array> {
  const values = await host(w.data), scales = await host(w.scale);
  const cols = w.data.shape[w.data.rank - 1];
  return Float64Array.from(values, (v, i) => v * scales[Math.floor(i / cols)]);
}

/**
 * Llama 4's routed experts in float64 with unquantized activations: each token's top expert by logit, its input
 * scaled by the sigmoid of that logit, gate|up [E, 2I, H], silu(gate) * up, down [E, H, I].
 */
function exactExperts(x: ArrayLike<number>, logits: ArrayLike<number>, gateUp: Float64Array, down: Float64Array,
  T: number, H: number, E: number, I: number): Float64Array {
  const out = new Float64Array(T * H), h = new Float64Array(2 * I);
  for (let t = 0; t < T; t++) {
    let e = 0;
    for (let j = 1; j < E; j++) if (logits[t * E + j] > logits[t * E + e]) e = j;
    const score = 1 / (1 + Math.exp(-logits[t * E + e]));
    for (let n = 0; n < 2 * I; n++) {
      let sum = 0;
      for (let k = 0; k < H; k++) sum += gateUp[(e * 2 * I + n) * H + k] * x[t * H + k] * score;
      h[n] = sum;
    }
    for (let i = 0; i < I; i++) h[i] = (h[i] / (1 + Math.exp(-h[i]))) * h[I + i];
    for (let n = 0; n < H; n++) {
      let sum = 0;
      for (let i = 0; i < I; i++) sum += down[(e * H + n) * I + i] * h[i];
      out[t * H + n] = sum;
    }
  }
  return out;
}

/** `body` under `tuning`; the kernels' own choices after. */
/**
 * The quantizing products on the CUDA cores, where a test compares them byte for byte with quantizeFp8 then the
 * product, which streams on the CUDA cores, or with the cpu at fp32's precision: the tensor cores' sums differ in the
 * last bits (their own tests below).
 */
const onCudaCores: KernelTuning = { fp8ProductOnTensorCores: false };

/**
 * `body` with the experts' products forced onto the grouped tensor-core kernel (true) or the streaming kernel (false,
 * on the CUDA cores); the rule after.
 */
function withGroupedMma<R>(tensorCores: boolean, body: () => Promise<R>): Promise<R> {
  return withTuning({ ...onCudaCores, fp8GroupedMma: tensorCores }, body);
}

// The experts' products on the tensor cores add up each run of 32 products (128 between promotions to fp32) with
// about 14 bits (DeepSeek-V3's report on Hopper's FP8 tensor cores), not fp32's 24: h differs from the cpu's by ~1e-4
// relative, so about 2 x 1e-4 / 0.09 (E4M3's mean step) of the activation's bytes round the other way at a midpoint,
// each by a whole step: sqrt(2e-3) x 0.09 ≈ 4e-3 relative L2 at the output. Any error of routing, tiles, fragments or
// scales shows at O(1).
const TENSOR_CORE_MOE_TOLERANCE = 1e-2;

/** `body` with the FP8 products quantizing inside (true) or after a quantizeFp8 kernel (false), on the CUDA cores. */
function withQuantizeInProduct<R>(inside: boolean, body: () => Promise<R>, tuning: KernelTuning = {}): Promise<R> {
  return withTuning({ ...onCudaCores, ...tuning, fp8QuantizeInProduct: inside }, () => {
    assert.equal(cuda().backend.fp8QuantizeInProduct, inside, "the backend reports the choice");
    return body();
  });
}

describe("cuda FP8 kernels", { skip: skipCuda }, () => {
  const random = rng(808);

  test("quantizeFp8 rows: the same bytes and scales as the cpu, bf16 and F32 inputs", async () => {
    for (const [R, C] of [[1, 5120], [7, 333], [64, 2048], [3, 16]]) {
      for (const dtype of ["BF16", "F32"] as const) {
        const values = randomValues(random, R * C, -3, 3);
        values[5 % (R * C)] = 200; // an outlier sets row 0's scale
        if (R > 2) values.fill(0, C, 2 * C); // an all-zero row
        const [cx, gx] = floatPair(values, [R, C], dtype);
        const [c, g] = [quantizeFp8(cx), quantizeFp8(gx)];
        assert.deepEqual(await host(g.scale), await host(c.scale), `scales [${R}, ${C}] ${dtype}`);
        assert.deepEqual(await bytesOf(g.q), await bytesOf(c.q), `bytes [${R}, ${C}] ${dtype}`);
      }
    }
  });

  test("quantizeFp8 transposed: [E, K, N] stacks to [E, N, K] rows, byte for byte", async () => {
    for (const [E, K, N] of [[3, 70, 45], [2, 256, 512], [16, 64, 96]]) {
      const values = randomValues(random, E * K * N, -0.5, 0.5);
      const [cx, gx] = floatPair(values, [E, K, N]);
      const [c, g] = [quantizeFp8(cx, { transpose: true }), quantizeFp8(gx, { transpose: true })];
      assert.deepEqual(g.q.shape, [E, N, K]);
      assert.deepEqual(await host(g.scale), await host(c.scale), `scales [${E}, ${K}, ${N}]`);
      assert.deepEqual(await bytesOf(g.q), await bytesOf(c.q), `bytes [${E}, ${K}, ${N}]`);
    }
  });

  test("linearFp8 on the same FP8 inputs: streaming (T <= 8), cuBLASLt (T > 8), the fallback (K % 16 != 0)", async () => {
    for (const [T, K, N, withBias] of [[1, 2048, 4096, true], [2, 5120, 640, false], [3, 1024, 200, true], [8, 512, 300, true],
      [9, 512, 304, false], [64, 2048, 1024, true], [300, 1024, 2048, false], [5, 40, 24, true], [33, 40, 24, false]] as const) {
      for (const dtype of ["BF16", "F32"] as const) {
        const [cx, gx] = await quantizedPair(randomValues(random, T * K, -2, 2), [T, K]);
        const [cw, gw] = await quantizedPair(randomValues(random, N * K, -0.1, 0.1), [N, K]);
        const [cb, gb] = withBias ? floatPair(randomValues(random, N), [N], dtype) : [null, null];
        const [co, go] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
        cpu.backend.linearFp8(co, cx.data, cx.scale, cw, cb);
        cuda().backend.linearFp8(go, gx.data, gx.scale, gw, gb);
        // bf16: one rounding of the output (two on the cuBLASLt path: its raw sums, then the scaled value). F32: the
        // streaming kernel sums in fp32 FMAs (1e-5); Hopper's FP8 tensor cores add up each run of products with about
        // 14 bits before cuBLASLt promotes the partial sums to fp32 (DeepSeek-V3's report), hence 1e-3 above 8 tokens.
        const tolerance = dtype === "BF16" ? 8e-3 : T > 8 && K % 16 === 0 ? 1e-3 : 1e-5;
        expectRelL2(await host(go), await host(co), tolerance, `linearFp8 ${dtype} [${T}x${K}]·[${N}x${K}]ᵀ${withBias ? " + bias" : ""}`);
      }
    }
  });

  test("linearFp8 quantizing a float x inside the product (decode sizes): exactly quantizeFp8 then linearFp8", () => withTuning(onCudaCores, async () => {
    for (const [T, K, N, withBias] of [[1, 5120, 896, true], [2, 8192, 300, false], [3, 1024, 200, true], [4, 4096, 64, false],
      [4, 16, 24, true]] as const) {
      for (const dtype of ["BF16", "F32"] as const) {
        const [, gw] = await quantizedPair(randomValues(random, N * K, -0.1, 0.1), [N, K]);
        const [, gx] = floatPair(randomValues(random, T * K, -2, 2), [T, K], dtype);
        const [, gb] = withBias ? floatPair(randomValues(random, N), [N], dtype) : [null, null];
        const [, inside] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
        const [, outside] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
        cuda().backend.linearFp8(inside, gx, null, gw, gb);
        const { q, scale } = quantizeFp8(gx);
        cuda().backend.linearFp8(outside, q, scale, gw, gb);
        const label = `${dtype} [${T}x${K}]·[${N}x${K}]ᵀ${withBias ? " + bias" : ""}`;
        assert.deepEqual(Array.from(await host(inside)), Array.from(await host(outside)), label);
      }
    }
    // Scout's widest products (each warp then streams several rows: N = 16384 at K = 5120, x quantized once a block),
    // x not 16-byte aligned (value by value), the forced weight loads in flight (one bf16 row only), the wrapper both
    // ways: always the bytes of quantizeFp8 then the product.
    for (const [T, K, N, dtype, offset, batch] of [[1, 5120, 16384, "BF16", 0, 0], [1, 8192, 5120, "BF16", 0, 0],
      [1, 8192, 5120, "F32", 0, 0], [3, 5120, 7168, "BF16", 0, 0], [1, 5120, 7168, "BF16", 1, 0], [2, 1024, 640, "F32", 1, 0],
      [1, 5120, 7168, "BF16", 0, 8], [1, 8192, 5120, "BF16", 0, 16]] as const) {
      const w = deviceFp8([N, K], 7 + N + K);
      const [, flat] = floatPair(randomValues(random, T * K + offset, -2, 2), [T * K + offset], dtype);
      const gx = flat.narrow(offset, T * K).view([T, K]);
      const label = `${dtype} [${T}x${K}]·[${N}x${K}]ᵀ, x ${offset === 0 ? "aligned" : "off 16 bytes"}, ${batch || "default"} loads a lane`;
      tuneCudaKernels({ ...onCudaCores, fp8StreamBatch: batch });
      try {
        const [, inside] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
        const [, outside] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
        cuda().backend.linearFp8(inside, gx, null, w, null);
        const { q, scale } = quantizeFp8(gx);
        cuda().backend.linearFp8(outside, q, scale, w, null);
        const expected = Array.from(await host(outside));
        assert.ok(expected.every(Number.isFinite), label);
        assert.deepEqual(Array.from(await host(inside)), expected, label);
        for (const fused of [true, false]) {
          const got = await withQuantizeInProduct(fused, async () => {
            assert.equal(quantizesInProduct(cuda().backend, T, K, dtype), fused);
            return Array.from(await host(linearFp8(gx, w)));
          }, { fp8StreamBatch: batch });
          assert.deepEqual(got, expected, `${label}, linearFp8 ${fused ? "quantizing inside" : "after quantizeFp8"}`);
        }
      } finally {
        tuneCudaKernels({});
      }
    }
    // Past what a block's shared memory holds, or past 4 rows, the backend refuses rather than reading past it.
    // 4 rows of 8,208: one 16-byte chunk a row past the 32,768 bytes (4 x 8,192 is exactly the limit, and allowed).
    const wide = 8192 + 16;
    const [, gw] = await quantizedPair(randomValues(random, 8 * wide, -0.1, 0.1), [8, wide]);
    const [, gx] = floatPair(randomValues(random, 8 * wide, -2, 2), [8, wide], "BF16");
    assert.throws(() => cuda().backend.linearFp8(empty(cuda(), [5, 8], "BF16"), gx.narrow(0, 5), null, gw, null), /at most 4 rows/);
    assert.throws(() => cuda().backend.linearFp8(empty(cuda(), [4, 8], "BF16"), gx.narrow(0, 4), null, gw, null), /32768 bytes of FP8 x/);
  }));

  // The quantizing products' dot products on the tensor cores (mma over E4M3) and on the CUDA cores, against the cpu
  // on the same FP8 bytes (x quantized on each device: the same bytes). F32: the CUDA cores sum in fp32 FMAs (1e-5);
  // Hopper's FP8 tensor cores add each mma's 32 products with about 14 bits (DeepSeek-V3's report) before the kernel
  // adds them to its fp32 sums, hence 1e-3 as for cuBLASLt's FP8 products. bf16: one rounding of the output. Shapes:
  // K not a multiple of 64 (a partial last step) and of 16 only (one chunk), warps with no slice of K (K = 336), N not
  // a multiple of 16, 1 to 4 tokens.
  for (const tensorCores of [false, true]) {
    test(`linearFp8 quantizing inside on the ${tensorCores ? "tensor" : "CUDA"} cores (decode sizes) matches the cpu`, () =>
      withTuning({ fp8ProductOnTensorCores: tensorCores }, async () => {
        assert.equal(fp8ProductOnTensorCoresInForce(), tensorCores, "the choice in force (an sm_89+ device)");
        for (const [T, K, N, withBias] of [[1, 5120, 640, true], [2, 1040, 200, false], [3, 336, 40, true], [4, 16, 33, false],
          [4, 8192, 48, true]] as const) {
          for (const dtype of ["BF16", "F32"] as const) {
            const [cw, gw] = await quantizedPair(randomValues(random, N * K, -0.1, 0.1), [N, K]);
            const [cx, gx] = floatPair(randomValues(random, T * K, -2, 2), [T, K], dtype);
            const [cb, gb] = withBias ? floatPair(randomValues(random, N), [N], dtype) : [null, null];
            const [co, go] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
            const { q, scale } = quantizeFp8(cx);
            cpu.backend.linearFp8(co, q, scale, cw, cb);
            cuda().backend.linearFp8(go, gx, null, gw, gb);
            const tolerance = dtype === "BF16" ? 8e-3 : tensorCores ? 1e-3 : 1e-5;
            expectRelL2(await host(go), await host(co), tolerance, `${dtype} [${T}x${K}]·[${N}x${K}]ᵀ${withBias ? " + bias" : ""}`);
          }
        }
      }));
  }

  test("linearFp8 quantizing inside at Scout's widths: the tensor cores as the CUDA cores, each load batch", async () => {
    // Passes past one resident wave (N = 16384: 1,024 tiles of 16 rows), K of 5,120 and 8,192, 4 tokens, the forced
    // loads in flight (one bf16 row only); tolerances as above, the CUDA cores standing in for the cpu.
    for (const [T, K, N, dtype, batch] of [[1, 5120, 16384, "BF16", 0], [1, 8192, 5120, "F32", 0], [4, 5120, 7168, "F32", 0],
      [1, 5120, 7168, "BF16", 8], [1, 8192, 5120, "BF16", 16]] as const) {
      const w = deviceFp8([N, K], 17 + N + K);
      const [, gx] = floatPair(randomValues(random, T * K, -2, 2), [T, K], dtype);
      const run = (tensorCores: boolean) => withTuning({ fp8ProductOnTensorCores: tensorCores, fp8StreamBatch: batch }, async () => {
        const [, out] = poisonedPair([T, N], dtype === "F32" ? "F32" : "float");
        cuda().backend.linearFp8(out, gx, null, w, null);
        return host(out);
      });
      const [tensor, cudaCores] = [await run(true), await run(false)];
      assert.ok(tensor.every(Number.isFinite), "finite");
      expectRelL2(tensor, cudaCores, dtype === "BF16" ? 8e-3 : 1e-3, `${dtype} [${T}x${K}]·[${N}x${K}]ᵀ, ${batch || "default"} loads a lane`);
    }
  });

  test("linearFp8 quantizing inside: the weights sent to L2 before the wait change no bit (each budget, each streaming)", async () => {
    // Budgets: none (each warp's first batch of loads), 1 MB (a share of each warp's first rows: Scout's q|k|v is 36.7
    // MB), 1,000 MB (whole first passes); passes past one resident wave (N = 16384), K not a multiple of 64.
    // Its own random source: the tests after it keep the inputs they were written against.
    const ownRandom = rng(4099);
    for (const [T, K, N] of [[1, 5120, 7168], [1, 8192, 5120], [2, 5120, 16384], [1, 1040, 200]] as const) {
      const w = deviceFp8([N, K], 23 + N + K);
      const [, gx] = floatPair(randomValues(ownRandom, T * K, -2, 2), [T, K], "BF16");
      for (const fp8ProductOnTensorCores of [false, true]) {
        const outputs: number[][] = [];
        for (const fp8PrefetchBudget of [0, 1, 1000]) {
          outputs.push(await withTuning({ fp8ProductOnTensorCores, fp8PrefetchBudget }, async () => {
            const [, out] = poisonedPair([T, N], "float");
            cuda().backend.linearFp8(out, gx, null, w, null);
            return Array.from(await host(out));
          }));
        }
        const label = `[${T}x${K}]·[${N}x${K}]ᵀ on the ${fp8ProductOnTensorCores ? "tensor" : "CUDA"} cores`;
        assert.ok(outputs[0].every(Number.isFinite), label);
        assert.deepEqual(outputs[1], outputs[0], `${label}: 1 MB against none`);
        assert.deepEqual(outputs[2], outputs[0], `${label}: 1,000 MB against none`);
      }
    }
  });

  test("linearFp8 from bf16 activations: quantized on each device to the same bytes, then multiplied", async () => {
    const [T, K, N] = [4, 1024, 512];
    const [cw, gw] = await quantizedPair(randomValues(random, N * K, -0.1, 0.1), [N, K]);
    const [cx, gx] = floatPair(randomValues(random, T * K, -2, 2), [T, K]);
    expectRelL2(await host(linearFp8(gx, gw)), await host(linearFp8(cx, cw)), 8e-3, "linearFp8 end to end");
  });

  for (const [T, routing] of [[1, "random"], [7, "random"], [64, "random"], [100, "random"], [300, "random"], [300, "skewed"],
    [3, "two"], [150, "two"]] as const) {
    for (const tensorCores of [true, false]) {
      test(`moeTop1SigmoidFp8 T=${T} (${routing} routing, products ${tensorCores ? "on the tensor cores" : "streaming"}) matches the cpu`,
        () => withGroupedMma(tensorCores, () => moeCase(T, routing, tensorCores)));
    }
  }

  // gate|up's K = H = 200 is no multiple of 16: that product stays on the streaming kernel, down (K = I) does not.
  test("moeTop1SigmoidFp8 T=100 with H=200 on the tensor cores where they take the product, streaming where not", () =>
    withGroupedMma(true, () => moeCase(100, "random", true, 200)));

  const moeCase = async (T: number, routing: "random" | "skewed" | "two", tensorCores: boolean, H = 256) => {
    const [I, E] = [384, 16];
    const logits = randomValues(random, T * E, -3, 3);
    for (let t = 0; t < T; t++) {
      if (routing === "skewed") logits[t * E + 1] = 4;
      if (routing === "two") logits[t * E + (t % 2 === 0 ? 2 : E - 1)] = 4;
    }
    const xValues = randomValues(random, T * H, -1, 1);
    const [cgu, ggu] = await quantizedPair(randomValues(random, E * H * 2 * I, -2 / Math.sqrt(H), 2 / Math.sqrt(H)), [E, H, 2 * I], true);
    const [cdn, gdn] = await quantizedPair(randomValues(random, E * I * H, -2 / Math.sqrt(I), 2 / Math.sqrt(I)), [E, I, H], true);
    if (routing === "two") {
      // The experts no token picks hold NaN bytes on cuda: reading them would show.
      const poison = async (w: Fp8Weight, rows: number, cols: number) => {
        const bytes = await bytesOf(w.data);
        for (let e = 0; e < E; e++) if (e !== 2 && e !== E - 1) bytes.fill(0x7f, e * rows * cols, (e + 1) * rows * cols);
        return { data: fp8Tensor(cuda(), bytes, w.data.shape), scale: w.scale };
      };
      Object.assign(ggu, await poison(ggu, 2 * I, H));
      Object.assign(gdn, await poison(gdn, H, I));
    }
    const run = async (dtype: "F32" | "BF16", xs: Float32Array) => {
      const [cx, gx] = floatPair(xs, [T, H], dtype);
      const [cl, gl] = floatPair(logits, [T, E], dtype);
      const [co, go] = poisonedPair([T, H], dtype === "F32" ? "F32" : "float");
      cpu.backend.moeTop1SigmoidFp8(co, cx, cl, cgu, cdn);
      cuda().backend.moeTop1SigmoidFp8(go, gx, gl, ggu, gdn);
      const [a, e] = [await host(go), await host(co)];
      assert.ok(a.every(Number.isFinite), `finite ${dtype} outputs`);
      return [a, e];
    };
    // In F32 both backends compute the same values up to the last bit of the scaled input (the GPU rounds the
    // score to fp32 first) and the products' summation order: a value moves across an E4M3 rounding midpoint about
    // once in a million, and any difference of the routing, the scaling, the quantization or the products shows far
    // above 1e-3. The inputs carry all 24 bits: with bf16's 8, x * s / (amax * s / 448) lands exactly on a midpoint
    // for about one value in eight, where that last bit decides (measured: 0.3-1.3% apart on the H200). The tensor
    // cores' shorter sums move more of them (TENSOR_CORE_MOE_TOLERANCE); before sm_89 they are not used.
    const [a32, e32] = await run("F32", offTheBf16Grid(xValues, random));
    const onTensorCores = tensorCores && (cuda().backend as CudaBackend).device.computeCapability >= 89;
    expectRelL2(a32, e32, onTensorCores ? TENSOR_CORE_MOE_TOLERANCE : 1e-3, `moe fp8 F32 T=${T} ${routing}`);
    // In bf16 the GPU rounds the scaled input, h and the activation to bf16 (0.2% relative) before quantizing them
    // (E4M3 steps of 6-12%): some values land on the other side of a midpoint, so cuda and cpu each carry their own
    // quantization error. Both are measured against the experts with exact activations (the same FP8 weights): the
    // GPU's must be no larger than the reference's own (within a tenth, plus bf16's output rounding).
    const [a16, e16] = await run("BF16", xValues);
    const exact = exactExperts(xValues, logits, await dequantized(cgu), await dequantized(cdn), T, H, E, I);
    const [gpuError, cpuError] = [relL2(a16, exact), relL2(e16, exact)];
    assert.ok(gpuError <= 1.1 * cpuError + 4e-3,
      `moe fp8 bf16 T=${T} ${routing}: error against exact activations ${gpuError.toExponential(2)} on cuda, ${cpuError.toExponential(2)} on the cpu`);
  };

  test("moeTop1SigmoidFp8 at prefill sizes and Scout's widths: tensor cores and streaming agree, the rule picks tensor cores past 8 tokens", async () => {
    const [H, I, E] = [5120, 8192, 16];
    const gateUp = deviceFp8([E, 2 * I, H], 17), down = deviceFp8([E, H, I], 19);
    try {
      for (const [T, skewed] of [[4, false], [100, false], [300, false], [300, true]] as const) {
        const logits = randomValues(random, T * E, -3, 3);
        if (skewed) for (let t = 0; t < T; t += 3) logits[t * E + 5] = 4; // a third of the tokens on one expert: 2 tiles
        const xValues = randomValues(random, T * H, -1, 1);
        for (const dtype of ["BF16", "F32"] as const) {
          const [, gx] = floatPair(xValues, [T, H], dtype);
          const [, gl] = floatPair(logits, [T, E], dtype);
          const run = async () => {
            const [, out] = poisonedPair([T, H], dtype === "F32" ? "F32" : "float");
            cuda().backend.moeTop1SigmoidFp8(out, gx, gl, gateUp, down);
            return Array.from(await host(out));
          };
          const label = `moe fp8 ${dtype} T=${T}${skewed ? " skewed" : ""} at Scout's widths`;
          const [mma, streaming, rule] = [await withGroupedMma(true, run), await withGroupedMma(false, run), await run()];
          assert.ok(mma.every(Number.isFinite) && streaming.every(Number.isFinite), label);
          // bf16 rounds h and the activation before quantizing them: a rounding apart moves bytes across midpoints too.
          expectRelL2(mma, streaming, TENSOR_CORE_MOE_TOLERANCE, `${label}: tensor cores against streaming`);
          // Up to 8 tokens the rule streams, and the streaming products follow their own rule by rows (gate|up's
          // 16,384 rows on the tensor cores, down's 5,120 on the CUDA cores), not withGroupedMma's CUDA cores.
          const ruleKernel = T > 8 ? mma : await withTuning({ fp8GroupedMma: false }, run);
          assert.deepEqual(rule, ruleKernel, `${label}: the rule's kernel`);
        }
      }
    } finally {
      for (const w of [gateUp, down]) {
        w.data.dispose();
        w.scale.dispose();
      }
    }
  });

  test("moeTop1SigmoidFp8 at decode sizes: the same outputs with its inputs quantized inside the products or by kernels before", async () => {
    // Tokens routed apart and together (the blocks of the products find their expert among 16 or 2), Scout's widths
    // (H 5120, I 8192: an expert's activation is 4 chunks a thread in bf16, 2 rounds in F32) and a small one.
    for (const [H, I, E, routes] of [[256, 384, 16, [[3], [3, 9], [0, 15, 15], [5, 5, 5, 5], [1, 2, 3, 4]]],
      [5120, 8192, 2, [[1], [0, 1], [1, 1, 0, 1]]]] as const) {
      const gateUp = deviceFp8([E, 2 * I, H], 11 + H), down = deviceFp8([E, H, I], 13 + I);
      for (const route of routes) {
        const T = route.length;
        const logits = routedLogits(random, route, E);
        const xValues = randomValues(random, T * H, -1, 1);
        for (const dtype of ["BF16", "F32"] as const) {
          const [, gx] = floatPair(xValues, [T, H], dtype);
          const [, gl] = floatPair(logits, [T, E], dtype);
          const run = (inside: boolean) => withQuantizeInProduct(inside, async () => {
            const [, out] = poisonedPair([T, H], dtype === "F32" ? "F32" : "float");
            cuda().backend.moeTop1SigmoidFp8(out, gx, gl, gateUp, down);
            return Array.from(await host(out));
          });
          const [inside, outside] = [await run(true), await run(false)];
          const label = `moe fp8 ${dtype} H=${H} I=${I} experts ${route.join(",")}`;
          assert.ok(outside.every(Number.isFinite), label);
          assert.deepEqual(inside, outside, label);
        }
      }
    }
  });

  // The decode products (at most 4 tokens: quantizing inside) with their dot products on the tensor cores: the checks
  // and the tolerance of the grouped kernel's (sums of 32 products between promotions to fp32, shorter still), tokens
  // apart and together, experts holding NaN bytes where no token goes, gate|up's K = H = 1040 ending in a partial step.
  for (const [T, routing, H] of [[1, "random", 256], [3, "two", 256], [4, "skewed", 256], [2, "random", 1040]] as const) {
    test(`moeTop1SigmoidFp8 T=${T} (${routing} routing, H=${H}, decode products on the tensor cores) matches the cpu`,
      () => withTuning({ fp8ProductOnTensorCores: true }, () => moeCase(T, routing, true, H)));
  }

  test("dummy FP8 weights: the cpu's bytes from the same hash", async () => {
    const n = 100_000;
    const c = empty(cpu, [n], "F8_E4M3"), g = empty(cuda(), [n], "F8_E4M3");
    cpu.backend.fillUniform(c, 1234, -448, 448);
    cuda().backend.fillUniform(g, 1234, -448, 448);
    const [a, e] = [await host(g), await host(c)];
    // The value low + (high - low) * u rounds in fp32 on the GPU and in float64 on the cpu before E4M3: equal bytes
    // but for the rare value at a rounding midpoint.
    let equal = 0;
    for (let i = 0; i < n; i++) if (a[i] === e[i]) equal++;
    assert.ok(equal >= 0.999 * n, `${equal} of ${n} bytes equal`);
    expectClose(a, e, 0.07, 0, "dummy FP8 values");
  });

  for (const inside of [true, false]) {
    test(`linearFp8 and moeTop1SigmoidFp8 captured in a graph replay on new inputs (quantizing ${inside ? "inside the products" : "before them"})`,
      () => withQuantizeInProduct(inside, () => graphCase(1e-3)));
  }
  test("linearFp8 and moeTop1SigmoidFp8 captured in a graph replay on new inputs (the experts' products on the tensor cores)",
    () => withGroupedMma(true, () => graphCase(TENSOR_CORE_MOE_TOLERANCE)));

  const graphCase = async (moeTolerance: number) => {
    const backend = cuda().backend as CudaBackend;
    const [T, K, N, E, I] = [2, 256, 128, 4, 64];
    const [cw, gw] = await quantizedPair(randomValues(random, N * K, -0.1, 0.1), [N, K]);
    const [cgu, ggu] = await quantizedPair(randomValues(random, E * K * 2 * I, -0.1, 0.1), [E, K, 2 * I], true);
    const [cdn, gdn] = await quantizedPair(randomValues(random, E * I * K, -0.1, 0.1), [E, I, K], true);
    // F32 activations: the graph's moe output then equals the cpu's as closely as the F32 test above asks.
    const [, gx] = floatPair(offTheBf16Grid(randomValues(random, T * K), random), [T, K], "F32");
    const [, gl] = floatPair(randomValues(random, T * E, -3, 3), [T, E], "F32");
    const arena = backend.createArena(1 << 20);
    let linearOut!: Tensor, moeOut!: Tensor;
    const graph = captureGraph(backend, () => cuda().inArena(arena, () => {
      linearOut = linearFp8(gx, gw);
      moeOut = empty(cuda(), [T, K], "F32");
      backend.moeTop1SigmoidFp8(moeOut, gx, gl, ggu, gdn);
    }));
    try {
      for (let round = 0; round < 3; round++) {
        const x = offTheBf16Grid(randomValues(random, T * K), random), logits = randomValues(random, T * E, -3, 3);
        backend.upload(gx, x);
        backend.upload(gl, logits);
        backend.replay(graph);
        const [cx, cl] = [cpuTensor(x, [T, K]), cpuTensor(logits, [T, E])];
        expectRelL2(await host(linearOut), await host(linearFp8(cx, cw)), 8e-3, `graph linear round ${round}`);
        const [co] = poisonedPair([T, K]);
        cpu.backend.moeTop1SigmoidFp8(co, cx, cl, cgu, cdn);
        expectRelL2(await host(moeOut), await host(co), moeTolerance, `graph moe round ${round}`);
      }
    } finally {
      backend.destroyGraph(graph);
      arena.destroy();
    }
  };
});
