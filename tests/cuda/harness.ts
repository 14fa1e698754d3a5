
// Shared by the cuda kernel tests: the cuda device or the reason it is missing, seeded random inputs that are
// exact in bf16 (so the cpu and cuda backends see identical values), poisoned outputs, and tolerance checks.
import assert from "node:assert/strict";
import { f32ToBf16, roundToBf16 } from "../../src/core/half.js";
import { empty, fromHost } from "../../src/runtime/creation.js";
import { cpuDevice, getDevice, type Device } from "../../src/runtime/device.js";
import type { TensorDType } from "../../src/runtime/dtype.js";
import type { Tensor } from "../../src/runtime/tensor.js";

function probe(): { device: Device | null; skip: string | false } {
  try {
    return { device: getDevice("cuda"), skip: false };
  } catch (err) {
    return { device: null, skip: `skipped: no CUDA device/addon (${(err as Error).message})` };
  }
}

const probed = probe();
/** The option for node:test: false on a GPU machine, else the visible reason the cuda tests skip. */
export const skipCuda = probed.skip;

export function cuda(): Device {
  if (probed.device === null) throw new Error("no cuda device");
  return probed.device;
}

export const cpu = cpuDevice();

export { rng } from "../helpers/rng.js";

/** n values uniform in [lo, hi), rounded to bf16 so both backends hold them exactly. */
export function randomValues(random: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = roundToBf16(lo + (hi - lo) * random());
  return out;
}

/**
 * A page table [S, columns] giving sequence s its first pagesOf[s] entries (-1 past them) from a pool of their sum plus
 * `sparePages` pages in shuffled order, so a read through a wrong page or past a sequence's pages shows.
 */
export function shuffledPageTable(random: () => number, pagesOf: readonly number[], columns: number, sparePages = 0): { table: number[]; numPages: number } {
  const numPages = pagesOf.reduce((a, b) => a + b, 0) + sparePages;
  const order = Array.from({ length: numPages }, (_, i) => i).sort(() => random() - 0.5);
  const table: number[] = [];
  let next = 0;
  for (const pages of pagesOf) for (let p = 0; p < columns; p++) table.push(p < pages ? order[next++] : -1);
  return { table, numPages };
}

/** The same values as a float tensor on cpu (F32) and on cuda (BF16, or F32 when `dtype` says so). */
export function floatPair(values: Float32Array, shape: readonly number[], dtype: TensorDType = "BF16"): [Tensor, Tensor] {
  const host = cpuTensor(values, shape);
  if (dtype === "F32") return [host, fromHost(cuda(), values, { shape, dtype: "F32" })];
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = f32ToBf16(values[i]);
  return [host, fromHost(cuda(), { dtype: "BF16", shape, data: bits }, { shape, dtype: "BF16" })];
}

export function cpuTensor(values: Float32Array, shape: readonly number[]): Tensor {
  return fromHost(cpu, values, { shape, dtype: "F32" });
}

/** The same I32 values on both devices. */
export function intPair(values: Int32Array | number[], shape?: readonly number[]): [Tensor, Tensor] {
  const data = Int32Array.from(values);
  const s = shape ?? [data.length];
  return [fromHost(cpu, data, { shape: s, dtype: "I32" }), fromHost(cuda(), data, { shape: s, dtype: "I32" })];
}

/** An output on each device, filled with garbage first so a kernel that skips elements is caught. */
export function poisonedPair(shape: readonly number[], dtype: "float" | "F32" | "I32" = "float"): [Tensor, Tensor] {
  const c = empty(cpu, shape, dtype === "I32" ? "I32" : "F32");
  const g = empty(cuda(), shape, dtype === "float" ? "BF16" : dtype);
  const poison = dtype === "I32" ? -123456 : NaN;
  cpu.backend.fill(c, poison);
  cuda().backend.fill(g, poison);
  return [c, g];
}

export async function host(t: Tensor): Promise<Float32Array | Int32Array> {
  return t.device.backend.download(t);
}

/** |actual - expected| <= atol + rtol * |expected| everywhere, with the first failures in the message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      if (bad.length < 5) bad.push(`[${i}] ${a} vs ${e}`);
      else break;
    }
  }
  assert.equal(bad.length, 0, `${what}: ${bad.join(", ")}`);
}

/** ||actual - expected|| / ||expected|| <= tol (matrix products, attention). */
export function expectRelL2(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const rel = relL2(actual, expected);
  assert.ok(rel <= tol, `${what}: relative L2 error ${rel.toExponential(2)} > ${tol}`);
}

/** ||actual - expected|| / ||expected||. */
export function relL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0, norm = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    diff += d * d;
    norm += expected[i] * expected[i];
  }
  return Math.sqrt(diff / Math.max(norm, 1e-30));
}

/** Downloads both outputs and compares them as bf16 results (one rounding of an fp32 value: 2^-8 relative). */
export async function expectBf16Match(cpuOut: Tensor, cudaOut: Tensor, what: string, atol = 1e-3): Promise<void> {
  expectClose(await host(cudaOut), await host(cpuOut), 8e-3, atol, what);
}

/**
 * The graph of the work `body` enqueues on `backend`, captured: the capture ends even where `body` throws (the
 * error goes on).
 */
export function captureGraph(backend: { beginCapture(): void; endCapture(): number }, body: () => void): number {
  backend.beginCapture();
  let graph: number;
  try {
    body();
  } finally {
    graph = backend.endCapture();
  }
  return graph;
}
