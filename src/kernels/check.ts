/**
 * Argument checks shared by the kernel wrappers: one device, expected shapes and dtypes, a usable output.
 * Every failure is an IrisError("INVALID_ARGUMENT") that names the kernel, the argument and what was expected.
 *
 * They run on every kernel call, ~1,300 times in a prefill's launch: named tensors are walked with `for...in`, which
 * allocates nothing (Object.entries made an array a call: ~0.2 against 0.05 µs in isolation, and sameDevice alone
 * was ~0.9 ms of a 352-token prefill's 5 ms of launches in the H200 cpu profile at eccdab7).
 */
import { IrisError } from "../core/errors.js";
import { empty } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { TensorDType } from "../runtime/dtype.js";
import type { Tensor } from "../runtime/tensor.js";

function fail(kernel: string, message: string): never {
  throw new IrisError("INVALID_ARGUMENT", `${kernel}: ${message}`);
}

function describe(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

/** All given tensors live on one device and over live storage; returns that device. */
export function sameDevice(kernel: string, tensors: Record<string, Tensor | null | undefined>): Device {
  let device: Device | undefined, first = "";
  for (const name in tensors) {
    const t = tensors[name];
    if (t == null) continue;
    if (!t.storage.alive) throw new IrisError("INTERNAL", `internal error: ${kernel}: ${name} was used after dispose()`);
    if (device === undefined) {
      device = t.device;
      first = name;
    } else if (t.device !== device) {
      fail(kernel, `${name} is on ${t.device.name} but ${first} is on ${device.name}; all tensors must be on one device`);
    }
  }
  if (device === undefined) fail(kernel, "no tensor given");
  return device;
}

/** `expected` lists sizes; a string entry names a size that may be anything (shown in the message). */
export function expectShape(kernel: string, name: string, t: Tensor, expected: readonly (number | string)[]): void {
  const ok = t.rank === expected.length && expected.every((d, i) => typeof d === "string" || d === t.shape[i]);
  if (!ok) fail(kernel, `${name} must have shape ${describe(expected)}, got ${describe(t.shape)}`);
}

export function expectRank(kernel: string, name: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) fail(kernel, `${name} must have rank ${rank}, got shape ${describe(t.shape)}`);
}

/** `"float"` accepts any float dtype the kernels compute in (not FP8, which only the FP8 kernels read). */
export function expectDType(kernel: string, name: string, t: Tensor, dtype: TensorDType | "float"): void {
  const ok = dtype === "float" ? t.dtype !== "I32" && t.dtype !== "F8_E4M3" : t.dtype === dtype;
  if (!ok) fail(kernel, `${name} must be ${dtype === "float" ? "a float tensor" : dtype}, got ${t.dtype}`);
}

/** Each named tensor has the dtype of `ref`, which must be a float dtype. */
export function expectSameFloat(kernel: string, ref: [string, Tensor], others: Record<string, Tensor | null | undefined>): void {
  expectDType(kernel, ref[0], ref[1], "float");
  for (const name in others) {
    const t = others[name];
    if (t != null && t.dtype !== ref[1].dtype) fail(kernel, `${name} must be ${ref[1].dtype} like ${ref[0]}, got ${t.dtype}`);
  }
}

export function expectCondition(kernel: string, condition: boolean, message: string): void {
  if (!condition) fail(kernel, message);
}

function overlaps(a: Tensor, b: Tensor): boolean {
  return a.storage === b.storage && a.offset < b.offset + b.numel && b.offset < a.offset + a.numel && a.numel > 0 && b.numel > 0;
}

/** `out` shares no memory with any input (for kernels whose output may not alias). */
export function expectNoOverlap(kernel: string, out: Tensor, inputs: Record<string, Tensor | null | undefined>): void {
  for (const name in inputs) {
    const t = inputs[name];
    if (t != null && overlaps(out, t)) fail(kernel, `the output overlaps ${name}; pass a separate output tensor`);
  }
}

/**
 * `out` is one of the inputs exactly (an elementwise kernel may run in place) or shares no memory with any of them:
 * a partial overlap would read values the kernel already overwrote.
 */
export function expectInPlaceOrDisjoint(kernel: string, out: Tensor, inputs: Record<string, Tensor | null | undefined>): void {
  for (const name in inputs) {
    const t = inputs[name];
    if (t == null) continue;
    const same = out.storage === t.storage && out.offset === t.offset && out.numel === t.numel;
    if (!same && overlaps(out, t)) fail(kernel, `the output partly overlaps ${name}; pass ${name} itself (in place) or a separate tensor`);
  }
}

/** A given output, checked for device, dtype and shape, or a new one. */
export function output(kernel: string, device: Device, out: Tensor | undefined, shape: readonly number[], dtype: TensorDType): Tensor {
  if (out === undefined) return empty(device, shape, dtype);
  if (out.device !== device) fail(kernel, `out is on ${out.device.name}, the inputs on ${device.name}`);
  if (!out.storage.alive) throw new IrisError("INTERNAL", `internal error: ${kernel}: out was used after dispose()`);
  if (out.dtype !== dtype) fail(kernel, `out must be ${dtype}, got ${out.dtype}`);
  expectShape(kernel, "out", out, shape);
  return out;
}
