import { test } from "node:test";
import assert from "node:assert/strict";
import { rotaryAttentionQKV } from "../../../src/kernels/rotary-attention-qkv.js";
import type { RotaryStyle, Segments } from "../../../src/runtime/backend.js";
import { countingBackend } from "../../../src/runtime/counting-backend.js";
import { CpuBackend } from "../../../src/runtime/cpu/cpu-backend.js";
import { Device } from "../../../src/runtime/device.js";
import { assertIrisError, f32Tensor, i32Tensor, randomArray, read, rng } from "./helpers.js";

/** A cpu backend without the in-place path: the wrapper copies q, k and v apart, as the vision blocks did before. */
class CopyingBackend extends CpuBackend {
  override rotaryAttentionQKV = (): boolean => false;
}

const inPlace = countingBackend(new CpuBackend());
const inPlaceDevice = new Device("cpu", 2, inPlace.backend);
const copyingDevice = new Device("cpu", 3, new CopyingBackend());

interface Case {
  lengths: number[];
  Hq: number;
  Hk: number;
  D: number;
  R: number;
  style: RotaryStyle;
  causal: boolean;
}

/** The in-place path and the copies give the same values bit for bit, and the in-place path copies nothing. */
async function check(c: Case, seed: number): Promise<void> {
  const random = rng(seed);
  const T = c.lengths.reduce((a, b) => a + b, 0), heads = c.Hq + 2 * c.Hk;
  const qkv = randomArray(T * heads * c.D, random);
  const angles = Array.from({ length: T * c.R }, () => 20 * random() - 10);
  const cos = Float32Array.from(angles, Math.cos), sin = Float32Array.from(angles, Math.sin);
  const cu = [0];
  for (const n of c.lengths) cu.push(cu[cu.length - 1] + n);
  const run = async (device: Device) => {
    const fused = f32Tensor(qkv, [T, heads, c.D], device);
    const segments: Segments = { cuSeqlens: i32Tensor(cu, undefined, device), maxSeqLen: Math.max(0, ...c.lengths) };
    const out = rotaryAttentionQKV(fused, c.Hk, f32Tensor(cos, [T, c.R], device), f32Tensor(sin, [T, c.R], device), c.style,
      segments, { scale: 1 / Math.sqrt(c.D), causal: c.causal });
    assert.deepEqual(out.shape, [T, c.Hq, c.D]);
    return { out: await read(out), qkv: await read(fused) };
  };
  inPlace.counter.reset();
  const got = await run(inPlaceDevice);
  const label = JSON.stringify(c);
  assert.equal(inPlace.counter.calls.get("rotaryAttentionQKV"), 1, label);
  assert.equal(inPlace.counter.calls.get("sliceColumns"), undefined, `${label}: copies on the in-place path`);
  const want = await run(copyingDevice);
  assert.deepEqual(got.out, want.out, `${label}: attention differs from the copies`);
  // The v columns stay as they were; the q and k columns hold the rotated values the copies attended with.
  for (let t = 0; t < T; t++) {
    const row = t * heads * c.D, v = row + (c.Hq + c.Hk) * c.D;
    assert.deepEqual(got.qkv.subarray(v, row + heads * c.D), qkv.subarray(v, row + heads * c.D), `${label}: v of row ${t} changed`);
  }
  assert.ok(got.qkv.some((x, i) => x !== qkv[i]), `${label}: q and k not rotated`);
}

test("attention from the fused q|k|v product equals the copies, rotation and attention of separate tensors", async () => {
  await check({ lengths: [64, 7, 0, 33], Hq: 4, Hk: 4, D: 80, R: 40, style: "neox", causal: false }, 70); // Qwen's windows
  await check({ lengths: [17, 40], Hq: 3, Hk: 3, D: 88, R: 44, style: "interleaved", causal: false }, 71); // Llama 4's tiles
  await check({ lengths: [23, 1, 40], Hq: 4, Hk: 1, D: 16, R: 4, style: "neox", causal: true }, 72); // GQA, partial rotation
});

test("rotaryAttentionQKV refuses inconsistent inputs", () => {
  const random = rng(73);
  const qkv = f32Tensor(randomArray(4 * 5 * 8, random), [4, 5, 8]);
  const cos = f32Tensor(randomArray(4 * 4, random), [4, 4]);
  const segments = { cuSeqlens: i32Tensor([0, 4]), maxSeqLen: 4 };
  const options = { scale: 0.3, causal: false };
  assertIrisError(() => rotaryAttentionQKV(qkv, 2, cos, cos, "neox", segments, options), "INVALID_ARGUMENT", /Hq \+ 2 Hk/);
  const wide = f32Tensor(randomArray(4 * 5, random), [4, 5]);
  assertIrisError(() => rotaryAttentionQKV(qkv, 1, wide, wide, "neox", segments, options), "INVALID_ARGUMENT", /rotate 10 dims/);
  assertIrisError(() => rotaryAttentionQKV(qkv, 1, cos, cos, "neox", segments, { scale: NaN, causal: false }), "INVALID_ARGUMENT", /scale/);
  assertIrisError(() => rotaryAttentionQKV(qkv, 1, cos, cos, "neox", { cuSeqlens: i32Tensor([0, 3]), maxSeqLen: 3 }, options),
    "INVALID_ARGUMENT", /from 0 to 4/);
});
