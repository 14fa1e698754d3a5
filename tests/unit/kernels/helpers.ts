
/**
 * Shared pieces of the kernel tests: a seeded generator, random inputs that are never zero, uploads to the cpu
 * device, and the relative L2 error against float64 references.
 */
import assert from "node:assert/strict";
import { isIrisError, type IrisErrorCode } from "../../../src/core/errors.js";
import { cpuDevice, Device } from "../../../src/runtime/device.js";
import { CpuBackend } from "../../../src/runtime/cpu/cpu-backend.js";
import { downloadFloat32, downloadInt32, fromHost } from "../../../src/runtime/creation.js";
import type { Tensor } from "../../../src/runtime/tensor.js";

export const device = cpuDevice();
/** A second cpu device object, for checks that tensors of different devices are refused. */
export const otherDevice = new Device("cpu", 1, new CpuBackend());

export { rng } from "../../helpers/rng.js";

/** n values in ±[0.05, 1) * scale with a random sign: never zero. */
export function randomArray(n: number, random: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() < 0.5 ? -1 : 1) * (0.05 + 0.95 * random()) * scale;
  return out;
}

export function f32Tensor(data: Float32Array | number[], shape: readonly number[], on: Device = device): Tensor {
  return fromHost(on, data instanceof Float32Array ? data : Float32Array.from(data), { shape });
}

export function i32Tensor(data: Int32Array | number[], shape?: readonly number[], on: Device = device): Tensor {
  const array = data instanceof Int32Array ? data : Int32Array.from(data);
  return fromHost(on, array, { shape: shape ?? [array.length] });
}

export function randomTensor(shape: readonly number[], random: () => number, scale = 1): { t: Tensor; data: Float32Array } {
  const data = randomArray(shape.reduce((a, b) => a * b, 1), random, scale);
  return { t: f32Tensor(data, shape), data };
}

export const read = downloadFloat32;
export const readInt = downloadInt32;

/** ||actual - expected|| / ||expected|| (absolute when expected is all zero). */
export function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, "lengths differ");
  let diff = 0, norm = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    diff += d * d;
    norm += expected[i] * expected[i];
  }
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label = "", tolerance = 1e-5): void {
  const err = relativeL2(actual, expected);
  assert.ok(err < tolerance, `${label}: relative L2 error ${err.toExponential(2)} >= ${tolerance}`);
}

export function assertIrisError(fn: () => unknown, code: IrisErrorCode = "INVALID_ARGUMENT", pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isIrisError(err, code), `expected IrisError ${code}, got ${String(err)}`);
    if (pattern) assert.match((err as Error).message, pattern);
    return true;
  });
}
