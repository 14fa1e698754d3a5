/**
 * The native matrix product (build/iris_cpu.node, native/kernels/gemm_cpu.cc) against a float64 reference and
 * against the TypeScript product, on every code path this CPU supports, single- and multi-threaded.
 *
 * Without the addon these tests check the TypeScript fallback instead and say so; but on a machine with a C++
 * compiler a missing addon is a failure (the build skips it silently only where nothing could build it).
 */
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { linear } from "../../../src/kernels/linear.js";
import { empty, fromHost } from "../../../src/runtime/creation.js";
import { linearImplementation, linearTypeScript } from "../../../src/runtime/cpu/matmul.js";
import { nativeCpuStatus, type NativeCpuAddon, type NativeCpuInfo } from "../../../src/runtime/native.js";
import { assertClose, device, randomArray, read, relativeL2, rng } from "../kernels/helpers.js";

const status = nativeCpuStatus();
const native = status.addon;
const compiler = process.env.CXX || "g++";
const hasCompiler = spawnSync(compiler, ["--version"]).status === 0;
const disabled = process.env.IRIS_CPU_NATIVE === "0";
const skipNative = native === null ? `no addon: ${status.reason}` : false;

function reference(x: Float32Array, w: Float32Array, bias: Float32Array | null, T: number, K: number, N: number) {
  const y = new Float64Array(T * N), magnitude = new Float64Array(T * N);
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) {
    let s = bias === null ? 0 : bias[n], m = bias === null ? 0 : Math.abs(bias[n]);
    for (let k = 0; k < K; k++) {
      const p = x[t * K + k] * w[n * K + k];
      s += p;
      m += Math.abs(p);
    }
    y[t * N + n] = s;
    magnitude[t * N + n] = m;
  }
  return { y, magnitude };
}

/**
 * Two float32 evaluations of the same sums agree "within float rounding" when each element differs by at most twice
 * the classic bound of a float32 dot product, K·u/(1-K·u) · Σ|x_k·w_k| (u = 2^-24), whatever the summation order.
 */
function assertWithinRounding(a: Float32Array, b: Float32Array, magnitude: Float64Array, K: number, label: string): void {
  const u = 2 ** -24, gamma = ((K + 1) * u) / (1 - (K + 1) * u);
  for (let i = 0; i < a.length; i++) {
    const bound = 2 * gamma * magnitude[i] + 2 * u * Math.abs(b[i]);
    assert.ok(Math.abs(a[i] - b[i]) <= bound, `${label}: element ${i} differs by ${Math.abs(a[i] - b[i])} > ${bound}`);
  }
}

// [T, K, N]. T = 1 and 2 (decode tiles), 3 (a partial 4-row tile), 5..7 and 130 (row remainders, several k blocks
// when K > 1024); K below, at and off the vector widths (4, 8, 16) and past the alignment peel (>= 128); N off
// every tile width (4, 8, 16); the larger ones cross the 1-megaflop line into the threaded split, 70x300x40 splits
// rows, and 130x1100x50 has an x panel over 256 KB (blocks of w rows kept in L2).
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 3], [1, 17, 33], [1, 300, 129], [2, 5, 9], [2, 256, 47], [3, 16, 5], [4, 31, 18], [5, 64, 21],
  [6, 2500, 13], [7, 1100, 37], [1, 4100, 70], [37, 1100, 300], [70, 300, 40], [130, 1100, 50], [64, 1176, 64],
];

/** The TypeScript product of the cpu backend on the same inputs. */
async function typeScriptLinear(x: Float32Array, w: Float32Array, bias: Float32Array | null, T: number, K: number, N: number) {
  const out = empty(device, [T, N]);
  linearTypeScript(out, fromHost(device, x, { shape: [T, K] }), fromHost(device, w, { shape: [N, K] }),
    bias === null ? null : fromHost(device, bias, { shape: [N] }));
  return read(out);
}

function withConfiguration(addon: NativeCpuAddon, run: (info: NativeCpuInfo) => void): void {
  const initial = addon.info();
  try {
    for (const isa of initial.isas) {
      for (const threads of new Set([1, initial.maxThreads])) run(addon.configure({ isa, threads }));
    }
  } finally {
    addon.configure({ isa: initial.isa, threads: initial.threads });
  }
}

test("the addon is built and loaded wherever a C++ compiler exists", (t) => {
  if (native !== null) {
    t.diagnostic(`native cpu kernels: ${status.reason}`);
    assert.equal(linearImplementation, "native", "the cpu backend's linear must run the addon once it loaded");
    return;
  }
  console.log(`native cpu kernels absent (${status.reason}): testing the TypeScript fallback only`);
  assert.equal(linearImplementation, "typescript");
  if (disabled) return;
  assert.ok(!hasCompiler, `${compiler} is present but the addon did not load: ${status.reason}. Run npm run build:native`);
});

test("linear matches a float64 reference on odd shapes: TypeScript, and native on every path", async () => {
  const random = rng(21);
  for (const [T, K, N] of SHAPES) {
    // Views at odd offsets into larger arrays: the addon must read and write exactly the viewed elements.
    const xBuffer = randomArray(T * K + 3, random), wBuffer = randomArray(N * K + 5, random), bias = randomArray(N, random);
    const x = xBuffer.subarray(3), w = wBuffer.subarray(5);
    for (const b of [null, bias]) {
      const { y: expected, magnitude } = reference(x, w, b, T, K, N);
      const ts = await typeScriptLinear(x, w, b, T, K, N);
      assertClose(ts, expected, `${T}x${K}x${N}${b ? " + bias" : ""} in TypeScript`, 1e-5);
      if (native === null) continue;
      withConfiguration(native, (info) => {
        const label = `${T}x${K}x${N}${b ? " + bias" : ""} on ${info.isa}, ${info.threads} threads`;
        const yBuffer = new Float32Array(T * N + 2).fill(NaN); // NaN: every element must be written, and only those
        const y = yBuffer.subarray(1, 1 + T * N);
        native.linear(y, x, w, b, T, K, N);
        assert.ok(Number.isNaN(yBuffer[0]) && Number.isNaN(yBuffer[T * N + 1]), `${label}: wrote outside y`);
        assertClose(y, expected, label, 1e-5);
        assertWithinRounding(y, ts, magnitude, K, `${label} vs TypeScript`);
      });
    }
  }
});

test("the cpu backend's linear respects tensor offsets on either path", async () => {
  const random = rng(22);
  const T = 9, K = 200, N = 35;
  const xData = randomArray(T * K, random), wData = randomArray(N * K, random), bData = randomArray(N, random);
  // Each operand sits inside a larger storage at a non-zero element offset.
  const host = (data: Float32Array, rows: number, cols: number, before: number) => {
    const padded = new Float32Array((rows + before + 1) * cols).fill(1e9);
    padded.set(data, before * cols);
    return fromHost(device, padded, { shape: [rows + before + 1, cols] }).narrow(before, rows);
  };
  const x = host(xData, T, K, 2), w = host(wData, N, K, 1), b = host(bData, 1, N, 3).view([N]);
  const storage = empty(device, [T + 3, N]);
  const out = storage.narrow(2, T);
  linear(x, w, b, out);
  assertClose(await read(out), reference(xData, wData, bData, T, K, N).y, `backend linear (${linearImplementation})`);
});

test("native linear refuses wrong argument types, lengths and overlaps", { skip: skipNative }, () => {
  const addon = native!;
  const y = new Float32Array(8), x = new Float32Array(6), w = new Float32Array(12), b = new Float32Array(4);
  const call = (...args: unknown[]) => () => (addon.linear as (...a: unknown[]) => void)(...args);
  assert.throws(call(y, x, w, b, 2, 3), { name: "TypeError", message: /takes 7 arguments, got 6/ });
  assert.throws(call(y, new Float64Array(6), w, b, 2, 3, 4), { name: "TypeError", message: /x must be a Float32Array/ });
  assert.throws(call([0, 0], x, w, b, 2, 3, 4), { name: "TypeError", message: /y must be a Float32Array/ });
  assert.throws(call(y, x, new Int32Array(12), b, 2, 3, 4), { name: "TypeError", message: /w must be a Float32Array/ });
  assert.throws(call(y, x, w, [1, 2, 3, 4], 2, 3, 4), { name: "TypeError", message: /bias must be a Float32Array or null/ });
  assert.throws(call(y, x, w, b, 2.5, 3, 4), { name: "RangeError", message: /integers/ });
  assert.throws(call(y, x, w, b, -1, 3, 4), { name: "RangeError", message: /integers/ });
  assert.throws(call(y, x, w, b, "2", 3, 4), { name: "RangeError", message: /integers/ });
  assert.throws(call(y, x, w, b, 2, 4, 4), { name: "RangeError", message: /x has 6 elements, expected T\*K = 2\*4 = 8/ });
  assert.throws(call(y, x, w, b, 2, 3, 5), { name: "RangeError", message: /w has 12 elements, expected N\*K = 5\*3 = 15/ });
  assert.throws(call(new Float32Array(7), x, w, b, 2, 3, 4), { name: "RangeError", message: /y has 7 elements, expected T\*N/ });
  assert.throws(call(y, x, w, new Float32Array(3), 2, 3, 4), { name: "RangeError", message: /bias has 3 elements, expected N = 4/ });
  const shared = new Float32Array(20);
  assert.throws(call(shared.subarray(0, 8), shared.subarray(6, 12), w, null, 2, 3, 4), { name: "RangeError", message: /overlaps/ });
  assert.throws(() => addon.configure({ isa: "sse9" as never }), { name: "RangeError", message: /not supported/ });
  assert.throws(() => addon.configure({ threads: 0 }), { name: "RangeError", message: /threads/ });
  // Empty products are fine: T = 0 writes nothing, K = 0 writes the bias.
  addon.linear(new Float32Array(0), new Float32Array(0), w, b, 0, 3, 4);
  const yBias = new Float32Array(8);
  addon.linear(yBias, new Float32Array(0), new Float32Array(0), Float32Array.from([1, 2, 3, 4]), 2, 0, 4);
  assert.deepEqual([...yBias], [1, 2, 3, 4, 1, 2, 3, 4]);
});

test("the addon outlives a worker thread that loaded it, as the engine's worker does", { skip: skipNative }, () => {
  // Node unloads an addon when the last environment that loaded it exits; the kernels' pool threads would then run
  // unmapped code and crash the process (build-native.mjs links with -z nodelete). A fresh process, so that only
  // the worker loads the addon.
  const script = `
    import { Worker } from "node:worker_threads";
    import { readFileSync } from "node:fs";
    const code = "const a = require(" + ${JSON.stringify(JSON.stringify(status.path))} + ");" +
      "const x = new Float32Array(64 * 1176).fill(1), w = new Float32Array(64 * 1176).fill(1), y = new Float32Array(64 * 64);" +
      "for (let i = 0; i < 20; i++) a.linear(y, x, w, null, 64, 1176, 64);";
    await new Promise((resolve, reject) => { const w = new Worker(code, { eval: true, execArgv: [] }); w.on("exit", resolve); w.on("error", reject); });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const mapped = process.platform !== "linux" || readFileSync("/proc/self/maps", "utf8").includes("iris_cpu.node");
    console.log(mapped ? "ok" : "unmapped");`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(child.signal, null, `the process died of ${child.signal}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), "ok");
});

test("native linear agrees with the TypeScript product on model-sized shapes", { skip: skipNative }, async () => {
  const random = rng(23);
  for (const [T, K, N] of [[64, 1176, 64], [256, 192, 1024], [8, 64, 4096]] as const) {
    const x = randomArray(T * K, random), w = randomArray(N * K, random);
    const ts = await typeScriptLinear(x, w, null, T, K, N), y = new Float32Array(T * N);
    native!.linear(y, x, w, null, T, K, N);
    const error = relativeL2(y, ts);
    assert.ok(error < 1e-6, `${T}x${K}x${N}: relative difference ${error.toExponential(2)}`);
  }
});
