// The FP8 kernels of the cpu backend (the reference the cuda ones are tested against) against their definitions,
// written out here in float64 from the E4M3 conversion alone: per-row quantization (rows and transposed stacks),
// the FP8 product with its scales after the sums, and the FP8 experts as routing + quantize + product per token.
import assert from "node:assert/strict";
import { test } from "node:test";
import { e4m3ToF32, f32ToE4m3 } from "../../../src/core/fp8.js";
import { linear } from "../../../src/kernels/linear.js";
import { linearFp8, quantizesInProduct } from "../../../src/kernels/linear-fp8.js";
import { moeTop1Sigmoid, moeTop1SigmoidFp8 } from "../../../src/kernels/moe.js";
import { quantizeFp8 } from "../../../src/kernels/quantize-fp8.js";
import { CpuBackend } from "../../../src/runtime/cpu/cpu-backend.js";
import { Device } from "../../../src/runtime/device.js";
import type { Tensor } from "../../../src/runtime/tensor.js";
import { relativeL2 } from "../../helpers/numerics.js";
import { assertClose, assertIrisError, device, f32Tensor, randomArray, randomTensor, read, rng } from "./helpers.js";

interface Quantized { bytes: Uint8Array; scales: Float64Array }

/** Rows of `values` (element c of row r at r * rowStride + c * colStride) quantized as the contract defines it. */
function referenceQuantize(values: Float32Array, rows: number, count: number, rowStride: number, colStride: number): Quantized {
  const bytes = new Uint8Array(rows * count), scales = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let c = 0; c < count; c++) amax = Math.max(amax, Math.abs(values[r * rowStride + c * colStride]));
    const scale = Math.max(Math.fround(amax / 448), 2 ** -126);
    scales[r] = scale;
    for (let c = 0; c < count; c++) bytes[r * count + c] = f32ToE4m3(values[r * rowStride + c * colStride] / scale);
  }
  return { bytes, scales };
}

/** y[t, n] = Σ_k q(x)[t, k] q(w)[n, k] * sx[t] * sw[n] + b[n] in float64. */
function referenceProduct(x: Quantized, w: Quantized, bias: Float32Array | null, T: number, N: number, K: number): Float64Array {
  const y = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += e4m3ToF32(x.bytes[t * K + k]) * e4m3ToF32(w.bytes[n * K + k]);
      y[t * N + n] = acc * x.scales[t] * w.scales[n] + (bias === null ? 0 : bias[n]);
    }
  }
  return y;
}

async function bytesOf(q: ReturnType<typeof quantizeFp8>): Promise<Quantized> {
  const decoded = await read(q.q);
  return { bytes: Uint8Array.from(decoded, (v) => f32ToE4m3(v)), scales: Float64Array.from(await read(q.scale)) };
}

test("quantizeFp8: per-row scales amax / 448 and each byte the nearest E4M3 of x / scale", async () => {
  const random = rng(81);
  for (const [R, C, magnitude] of [[1, 7, 1], [5, 64, 300], [9, 33, 1e-4]] as const) {
    const values = randomArray(R * C, random, magnitude);
    values[3] *= 40; // an outlier sets its row's scale
    const got = await bytesOf(quantizeFp8(f32Tensor(values, [R, C])));
    const want = referenceQuantize(values, R, C, C, 1);
    assert.deepEqual(got.scales, want.scales, `scales [${R}, ${C}]`);
    assert.deepEqual(got.bytes, want.bytes, `bytes [${R}, ${C}]`);
    // Dequantized, every value is within half a step of E4M3's 3-bit mantissa (2^-4 relative) of the input.
    for (let i = 0; i < values.length; i++) {
      const back = e4m3ToF32(got.bytes[i]) * got.scales[Math.floor(i / C)];
      assert.ok(Math.abs(back - values[i]) <= 2 ** -4 * Math.abs(values[i]) + 2 ** -10 * got.scales[Math.floor(i / C)], `element ${i}`);
    }
  }
});

test("quantizeFp8 with transpose: [E, K, N] stacks become [E, N, K] rows, one scale per expert and column", async () => {
  const random = rng(82);
  const [E, K, N] = [3, 10, 6];
  const values = randomArray(E * K * N, random, 2);
  const { q, scale } = quantizeFp8(f32Tensor(values, [E, K, N]), { transpose: true });
  assert.deepEqual(q.shape, [E, N, K]);
  assert.deepEqual(scale.shape, [E, N]);
  const got = await bytesOf({ q, scale });
  for (let e = 0; e < E; e++) {
    const want = referenceQuantize(values.subarray(e * K * N, (e + 1) * K * N), N, K, 1, N);
    assert.deepEqual(got.bytes.subarray(e * N * K, (e + 1) * N * K), want.bytes, `expert ${e}`);
    assert.deepEqual(got.scales.subarray(e * N, (e + 1) * N), want.scales, `expert ${e} scales`);
  }
});

test("quantizeFp8: an all-zero row gets the least normal scale and zero bytes; NaN never sets a scale", async () => {
  const got = await bytesOf(quantizeFp8(f32Tensor([0, 0, 0, 0, 1, NaN, -2, 0.5], [2, 4])));
  assert.deepEqual(Array.from(got.scales), [2 ** -126, Math.fround(2 / 448)]);
  assert.deepEqual(Array.from(got.bytes), [0, 0, 0, 0, f32ToE4m3(224), 0x7f, 0xfe, f32ToE4m3(112)]);
});

test("linearFp8: the FP8 values' sums times both scales plus the bias, within FP8's error of the float product", async () => {
  const random = rng(83);
  for (const [T, K, N, withBias] of [[1, 16, 5, true], [6, 48, 20, false], [17, 64, 33, true]] as const) {
    const x = randomTensor([T, K], random, 3), w = randomTensor([N, K], random, 0.2);
    const bias = withBias ? randomTensor([N], random) : null;
    const weight = quantizeFp8(w.t);
    const y = await read(linearFp8(x.t, { data: weight.q, scale: weight.scale }, bias?.t ?? null));
    const want = referenceProduct(referenceQuantize(x.data, T, K, K, 1), await bytesOf(weight), bias?.data ?? null, T, N, K);
    assertClose(y, want, `linearFp8 [${T}x${K}]·[${N}x${K}]ᵀ`, 1e-6);
    // Against the float product: each operand carries up to 2^-4 relative rounding (about 3% rms), not more.
    const exact = await read(linear(x.t, w.t, bias?.t ?? null));
    const error = relativeL2(y, exact);
    assert.ok(error > 1e-3 && error < 0.06, `FP8 vs float product: relative error ${error}`);
  }
});

test("Backend.linearFp8 with a float x (null xScale) quantizes it as quantizeFp8 does: the same values", async () => {
  const random = rng(84);
  const [T, K, N] = [3, 32, 7];
  const x = randomTensor([T, K], random, 3), weight = quantizeFp8(randomTensor([N, K], random, 0.2).t);
  const fp8 = { data: weight.q, scale: weight.scale };
  const inside = f32Tensor(new Float32Array(T * N), [T, N]), outside = f32Tensor(new Float32Array(T * N), [T, N]);
  device.backend.linearFp8(inside, x.t, null, fp8, null);
  const { q, scale } = quantizeFp8(x.t);
  device.backend.linearFp8(outside, q, scale, fp8, null);
  assert.deepEqual(Array.from(await read(inside)), Array.from(await read(outside)));
});

/** A cpu backend that chooses a quantizing kernel before each FP8 product (as cuda may), noting the xScale it gets. */
class SeparateQuantizing extends CpuBackend {
  readonly fp8QuantizeInProduct = false;
  readonly xScales: (Tensor | null)[] = [];
  constructor() {
    super();
    const product = this.linearFp8;
    this.linearFp8 = (out, x, xScale, weight, bias) => {
      this.xScales.push(xScale);
      product(out, x, xScale, weight, bias);
    };
  }
}

test("quantizesInProduct: decode sizes within FUSED_FP8_QUANTIZE, where the backend chooses it (absent, as on the cpu: it does)", async () => {
  assert.ok(quantizesInProduct(device.backend, 1, 5120, "F32") && quantizesInProduct({}, 4, 8192, "BF16"));
  assert.ok(!quantizesInProduct({}, 5, 16, "F32") && !quantizesInProduct({}, 4, 8208, "BF16") && !quantizesInProduct({}, 1, 40, "F32"));
  assert.ok(!quantizesInProduct({}, 1, 64, "F16") && !quantizesInProduct({ fp8QuantizeInProduct: false }, 1, 5120, "BF16"));
  assert.ok(quantizesInProduct({ fp8QuantizeInProduct: true }, 2, 5120, "BF16"));
  // linearFp8 on a backend that chooses the kernel before: quantizeFp8's bytes and scales reach the product, and the
  // values equal those of the product quantizing inside.
  const backend = new SeparateQuantizing(), separate = new Device("cpu", 2, backend);
  const random = rng(85);
  const [T, K, N] = [2, 48, 5];
  const values = randomArray(T * K, random, 3), weights = randomArray(N * K, random, 0.2);
  const product = async (on: Device) => {
    const w = quantizeFp8(f32Tensor(weights, [N, K], on));
    return Array.from(await read(linearFp8(f32Tensor(values, [T, K], on), { data: w.q, scale: w.scale })));
  };
  const [outside, inside] = [await product(separate), await product(device)];
  assert.equal(backend.xScales.length, 1);
  assert.notEqual(backend.xScales[0], null);
  assert.deepEqual(outside, inside);
});

test("linearFp8 refuses a float weight, a scale of the wrong length and FP8 activations", () => {
  const random = rng(84);
  const x = randomTensor([2, 8], random).t, w = quantizeFp8(randomTensor([4, 8], random).t);
  assertIrisError(() => linearFp8(x, { data: randomTensor([4, 8], random).t, scale: w.scale }), "INVALID_ARGUMENT", /F8_E4M3/);
  assertIrisError(() => linearFp8(x, { data: w.q, scale: f32Tensor([1, 2, 3], [3]) }), "INVALID_ARGUMENT", /weight.scale/);
  assertIrisError(() => linearFp8(quantizeFp8(x).q, { data: w.q, scale: w.scale }), "INVALID_ARGUMENT", /float/);
});

test("moeTop1SigmoidFp8: per token, the scaled input and the activation quantized, each expert's FP8 product", async () => {
  const random = rng(85);
  for (const [T, H, E, I] of [[1, 8, 3, 6], [9, 16, 4, 12]]) {
    const x = randomTensor([T, H], random), logits = randomTensor([T, E], random, 3);
    const gateUpFloat = randomTensor([E, H, 2 * I], random, 0.3), downFloat = randomTensor([E, I, H], random, 0.3);
    const gu = quantizeFp8(gateUpFloat.t, { transpose: true }), dn = quantizeFp8(downFloat.t, { transpose: true });
    const out = await read(moeTop1SigmoidFp8(x.t, logits.t, { data: gu.q, scale: gu.scale }, { data: dn.q, scale: dn.scale }));
    const [guQ, dnQ] = [await bytesOf(gu), await bytesOf(dn)];
    const slice = (q: Quantized, e: number, rows: number, cols: number): Quantized =>
      ({ bytes: q.bytes.subarray(e * rows * cols, (e + 1) * rows * cols), scales: q.scales.subarray(e * rows, (e + 1) * rows) });
    const want = new Float64Array(T * H);
    for (let t = 0; t < T; t++) {
      const row = Array.from(logits.data.subarray(t * E, (t + 1) * E));
      const e = row.indexOf(Math.max(...row));
      const s = 1 / (1 + Math.exp(-row[e]));
      const xs = Float32Array.from(x.data.subarray(t * H, (t + 1) * H), (v) => v * s);
      const h = referenceProduct(referenceQuantize(xs, 1, H, H, 1), slice(guQ, e, 2 * I, H), null, 1, 2 * I, H);
      const act = Float32Array.from({ length: I }, (_, j) => (h[j] / (1 + Math.exp(-h[j]))) * h[I + j]);
      want.set(referenceProduct(referenceQuantize(act, 1, I, I, 1), slice(dnQ, e, H, I), null, 1, H, I), t * H);
    }
    assertClose(out, want, `moe fp8 T=${T}`, 1e-5);
    const floatOut = await read(moeTop1Sigmoid(x.t, logits.t, gateUpFloat.t, downFloat.t));
    const error = relativeL2(out, floatOut);
    assert.ok(error > 1e-3 && error < 0.1, `FP8 vs float experts: relative error ${error}`);
  }
});
