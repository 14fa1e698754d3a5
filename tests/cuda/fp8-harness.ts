// FP8 weights for the cuda FP8 tests (fp8.test.ts, fp8-moe-shared.test.ts, fp8-bulk.test.ts): quantized on the cpu and
// copied to the device byte for byte, or drawn on the device for shapes too large to quantize on the cpu; and the
// kernel choices a test forces around its body.
import { f32ToE4m3 } from "../../src/core/fp8.js";
import { quantizeFp8 } from "../../src/kernels/quantize-fp8.js";
import { empty, fromHost } from "../../src/runtime/creation.js";
import { tuneCudaKernels, type KernelTuning } from "../../src/runtime/cuda/kernel-tuning.js";
import type { Device } from "../../src/runtime/device.js";
import type { Fp8SharedExpert } from "../../src/kernels/moe-fp8-shared.js";
import type { Fp8Weight } from "../../src/runtime/fp8-weight.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { cpu, cuda, host, randomValues } from "./harness.js";

/** `body` with the cuda kernels' choices `tuning` forced, the backend's own rules restored after. */
export async function withTuning<R>(tuning: KernelTuning, body: () => Promise<R>): Promise<R> {
  tuneCudaKernels(tuning);
  try {
    return await body();
  } finally {
    tuneCudaKernels({});
  }
}

/** An FP8 tensor's bytes (its values are E4M3's, so the conversion back is exact). */
export async function bytesOf(t: Tensor): Promise<Uint8Array> {
  return Uint8Array.from(await host(t), (v) => f32ToE4m3(v));
}

/** The same FP8 tensor on a device, from bytes. */
export function fp8Tensor(device: Device, bytes: Uint8Array, shape: readonly number[]): Tensor {
  return fromHost(device, { dtype: "F8_E4M3", shape, data: bytes }, { shape, dtype: "F8_E4M3" });
}

/** One quantization on the cpu ([rows, cols] or a transposed expert stack), its bytes and scales on both devices. */
export async function quantizedPair(values: Float32Array, shape: readonly number[], transpose = false): Promise<[Fp8Weight, Fp8Weight]> {
  const { q, scale } = quantizeFp8(fromHost(cpu, values, { shape, dtype: "F32" }), { transpose });
  const bytes = await bytesOf(q), scales = await host(scale) as Float32Array;
  return [{ data: q, scale }, { data: fp8Tensor(cuda(), bytes, q.shape), scale: fromHost(cuda(), scales, { shape: scale.shape, dtype: "F32" }) }];
}

/** FP8 weights made on the device (uniform bytes over ±448, scales 1e-3 / 448, as dummy weights): large shapes fast. */
export function deviceFp8(shape: readonly number[], seed: number): Fp8Weight {
  const data = empty(cuda(), shape, "F8_E4M3"), scale = empty(cuda(), shape.slice(0, -1), "F32");
  cuda().backend.fillUniform(data, seed, -448, 448);
  cuda().backend.fill(scale, 1e-3 / 448);
  return { data, scale };
}

/** The values moved off bf16's grid by up to half its step, so they carry all of float32's bits. */
export function offTheBf16Grid(values: Float32Array, random: () => number): Float32Array {
  return Float32Array.from(values, (v) => v + (random() - 0.5) * 2 ** -9 * Math.abs(v));
}

/** Router logits [T, E] for the T = route.length tokens, token t's largest at expert route[t] (4, the others in ±3). */
export function routedLogits(random: () => number, route: readonly number[], E: number): Float32Array {
  const logits = randomValues(random, route.length * E, -3, 3);
  route.forEach((e, t) => { logits[t * E + e] = 4; });
  return logits;
}

/**
 * The decode MoE shapes the folded-expert tests share: [H, I, experts, token routes], tokens routed apart and together
 * among 16 experts at small widths, and among 2 at Scout's (H 5120, I 8192: up to 2 tokens fold, 4 decline).
 */
export const DECODE_MOE_SHAPES = [[256, 384, 16, [[3], [3, 9], [0, 15, 15], [5, 5, 5, 5]]],
  [5120, 8192, 2, [[1], [0, 1], [1, 1, 0, 1]]]] as const;

/** A MoE's routed experts (gate|up [E, 2I, H], down [E, H, I]) and shared expert drawn on the device. */
export function deviceMoeWeights(H: number, I: number, E: number): { gateUp: Fp8Weight; down: Fp8Weight; shared: Fp8SharedExpert } {
  return {
    gateUp: deviceFp8([E, 2 * I, H], 11 + H),
    down: deviceFp8([E, H, I], 13 + I),
    shared: { gateUp: deviceFp8([2 * I, H], 17 + H), down: deviceFp8([H, I], 19 + I) },
  };
}
