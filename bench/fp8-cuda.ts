/**
 * FP8 against bf16 on cuda at Llama 4 Scout's shapes, printing JSON: the decoder's linear layers (qkv, o, the shared
 * expert's gate|up and down) at 1, 8, 64 and 1,024 tokens, and the routed experts (16 of them) at 1, 16, 64 and
 * 1,024 tokens. Each entry: µs per call, the weights' bytes per second (the floor at a few tokens: every weight read once)
 * and TFLOP/s (2·T·N·K). FP8 times include quantizing the activations per token (at 1 token inside the product, the
 * backend's default); at 1 token `fp8DecodeOnTensorCores` times the same with the streaming product's dot products on
 * the tensor cores forced (tuneCudaKernels fp8ProductOnTensorCores: fp8_stream_mma.cuh), `fp8` with the backend's
 * default. Wall clock over back-to-back calls ended by one synchronize; weights drawn on the device (dummy), never
 * zeros.
 *
 * The routed experts past one token also run with their two products forced onto each kernel (`fp8Products`:
 * `tensorCores`, native/cuda/kernels/fp8_grouped_mma.cu, and `streaming`, fp8_gemv.cu; the plain `fp8` entry is the
 * backend's own choice), each with its share of the H200's dense FP8 peak (1,979 TFLOP/s, which only wgmma reaches:
 * the mma.sync kernel is expected at a third of it at best, and at Scout's prefill sizes the weights' 2 GB a layer
 * bound it first). The whole call is timed, routing, quantizing and silu included.
 *
 *   node --import tsx bench/fp8-cuda.ts [--quick]
 */
import { E4M3_MAX } from "../src/core/fp8.js";
import { linear } from "../src/kernels/linear.js";
import { linearFp8 } from "../src/kernels/linear-fp8.js";
import { moeTop1Sigmoid, moeTop1SigmoidFp8 } from "../src/kernels/moe.js";
import { empty } from "../src/runtime/creation.js";
import { tuneCudaKernels } from "../src/runtime/cuda/kernel-tuning.js";
import { getDevice } from "../src/runtime/device.js";
import type { Fp8Weight } from "../src/runtime/fp8-weight.js";
import type { Tensor } from "../src/runtime/tensor.js";
import { runInfo } from "./run-info.js";
import { secondsPerDeviceCall } from "./timing.js";

const device = getDevice("cuda");
const backend = device.backend;
const quick = process.argv.includes("--quick");
let seed = 1;

function floats(shape: number[], scale = 1): Tensor {
  const t = empty(device, shape);
  backend.fillUniform(t, seed++, -scale, scale);
  return t;
}

function fp8(shape: number[]): Fp8Weight {
  const data = empty(device, shape, "F8_E4M3"), scale = empty(device, shape.slice(0, -1), "F32");
  backend.fillUniform(data, seed++, -E4M3_MAX, E4M3_MAX);
  backend.fill(scale, 0.02 / E4M3_MAX);
  return { data, scale };
}

/** Seconds per call (bench/timing.ts). */
const time = (fn: () => void): Promise<number> => secondsPerDeviceCall(device, fn, quick ? 0.05 : 0.3);

/** `fn`'s time with the decode products' dot products on the tensor cores (forced), the backend's defaults after. */
async function onTensorCores(fn: () => void): Promise<number> {
  tuneCudaKernels({ fp8ProductOnTensorCores: true });
  try {
    return await time(fn);
  } finally {
    tuneCudaKernels({});
  }
}

const report = (seconds: number, weightBytes: number, flops: number) =>
  ({ us: +(seconds * 1e6).toFixed(1), weightGBps: +(weightBytes / seconds / 1e9).toFixed(0), tflops: +(flops / seconds / 1e12).toFixed(1) });

const H = 5120, I = 8192, E = 16, QKV = (40 + 2 * 8) * 128;
const linears: [string, number, number][] = [["qkv", H, QKV], ["o", H, H], ["shared gate|up", H, 2 * I], ["shared down", I, H]];
const results: Record<string, unknown>[] = [];
for (const [name, K, N] of linears) {
  const w16 = floats([N, K], 0.02), w8 = fp8([N, K]);
  for (const T of quick ? [1, 64] : [1, 8, 64, 1024]) {
    const x = floats([T, K]);
    const bf16 = await time(() => linear(x, w16));
    const f8 = await time(() => linearFp8(x, w8));
    const onCores = T === 1 ? await onTensorCores(() => linearFp8(x, w8)) : undefined;
    results.push({ kernel: `linear ${name}`, T, K, N, bf16: report(bf16, 2 * N * K, 2 * T * N * K), fp8: report(f8, N * K, 2 * T * N * K),
      ...(onCores !== undefined && { fp8DecodeOnTensorCores: report(onCores, N * K, 2 * T * N * K) }) });
  }
  w16.dispose();
  w8.data.dispose();
  w8.scale.dispose();
}
const gateUp16 = floats([E, H, 2 * I], 0.02), down16 = floats([E, I, H], 0.02);
const gateUp8 = fp8([E, 2 * I, H]), down8 = fp8([E, H, I]);
const FP8_DENSE_PEAK_TFLOPS = 1979; // H200 SXM
// 16 tokens: just past the 8 rows where the experts leave the streaming product for the grouped tensor-core one.
for (const T of quick ? [1, 64] : [1, 16, 64, 1024]) {
  const x = floats([T, H]), logits = floats([T, E], 3);
  // The experts a step reads, expected under uniform routing: one at batch 1, ~10.5 at 16 tokens, ~15.7 at 64.
  const experts = E * (1 - (1 - 1 / E) ** T);
  const [bytes, flops] = [experts * 3 * H * I, 2 * T * 3 * H * I];
  const bf16 = await time(() => moeTop1Sigmoid(x, logits, gateUp16, down16));
  const f8 = await time(() => moeTop1SigmoidFp8(x, logits, gateUp8, down8));
  const entry: Record<string, unknown> = { kernel: "routed experts", T, H, I, E, bf16: report(bf16, 2 * bytes, flops), fp8: report(f8, bytes, flops) };
  if (T === 1) entry.fp8DecodeOnTensorCores = report(await onTensorCores(() => moeTop1SigmoidFp8(x, logits, gateUp8, down8)), bytes, flops);
  if (T > 1) {
    const products: Record<string, unknown> = {};
    for (const [name, fp8GroupedMma] of [["tensorCores", true], ["streaming", false]] as const) {
      tuneCudaKernels({ fp8GroupedMma });
      try {
        const seconds = await time(() => moeTop1SigmoidFp8(x, logits, gateUp8, down8));
        products[name] = { ...report(seconds, bytes, flops), peakShare: +(flops / seconds / 1e12 / FP8_DENSE_PEAK_TFLOPS).toFixed(3) };
      } finally {
        tuneCudaKernels({});
      }
    }
    entry.fp8Products = products;
  }
  results.push(entry);
}
console.log(JSON.stringify({ ...runInfo(import.meta.url), device: backend.description, results }, null, 1));
