/**
 * GFLOP/s of the cpu backend's matrix product (linear, y = x·Wᵀ) at the shapes the models run: the TypeScript product
 * and the native addon on each code path this CPU supports, with all threads and with one. Prints one JSON object
 * (machine, commit, command, results); record it in bench/results/ and compare with bench/results/native-cpu-gemm.md.
 * Weights of 8 MiB and more rotate through copies of 256 MiB in all, so each call reads its weight from memory as a
 * model's decode step does, instead of from a last-level cache that the repeated call would keep warm.
 *
 *   npm run build:native && node --import tsx bench/gemm-cpu.ts [--seconds 1]
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { fromHost, empty } from "../src/runtime/creation.js";
import { linearTypeScript } from "../src/runtime/cpu/matmul.js";
import { cpuDevice } from "../src/runtime/device.js";
import { nativeCpuStatus } from "../src/runtime/native.js";
import { runInfo } from "./run-info.js";
import { time } from "./timing.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "1" } } });
const minSeconds = Number(values.seconds);
const device = cpuDevice();

// [T, K, N, what]: T rows of x times a weight [N, K].
const SHAPES: [number, number, number, string][] = [
  [64, 1176, 64, "vision patch embedding: 64 patches of 2x14x14x3 into a hidden size of 64"],
  [256, 192, 1024, "demo model MLP, prefill of 256 tokens"],
  [8, 64, 151936, "tiny model output head, decode of 8 sequences"],
  [1, 4096, 4096, "a 7B-sized square projection, decode of 1"],
];

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

function rate(flops: number, { wall, cpu }: { wall: number; cpu: number }) {
  return { ms: +(wall * 1e3).toFixed(3), gflops: +(flops / wall / 1e9).toFixed(1), gflopsPerCpuSecond: +(flops / cpu / 1e9).toFixed(1) };
}

const status = nativeCpuStatus();
const addon = status.addon;
const initial = addon?.info();

const ROTATE_BYTES = 8 * 2 ** 20, ROTATION_BYTES = 256 * 2 ** 20;

const results = SHAPES.map(([T, K, N, what]) => {
  const copies = N * K * 4 >= ROTATE_BYTES ? Math.ceil(ROTATION_BYTES / (N * K * 4)) : 1;
  const x = random(T * K), y = new Float32Array(T * N);
  const ws = Array.from({ length: copies }, () => random(N * K));
  const flops = 2 * T * K * N;
  const xt = fromHost(device, x, { shape: [T, K] }), out = empty(device, [T, N]);
  const wts = ws.map((w) => fromHost(device, w, { shape: [N, K] }));
  let call = 0;
  const typescript = rate(flops, time(() => linearTypeScript(out, xt, wts[call++ % copies], null), minSeconds));
  const native = [];
  if (addon && initial) {
    for (const isa of initial.isas) {
      for (const threads of new Set([initial.maxThreads, 1])) {
        addon.configure({ isa, threads });
        native.push({ isa, threads, ...rate(flops, time(() => addon.linear(y, x, ws[call++ % copies], null, T, K, N), minSeconds)) });
      }
    }
    addon.configure({ isa: initial.isa, threads: initial.threads });
  }
  const best = native.length ? native[0].gflops : null;
  return {
    T, K, N, what, weightFromMemory: copies > 1, typescript, native, speedup: best === null ? null : +(best / typescript.gflops).toFixed(1),
  };
});

console.log(JSON.stringify({
  benchmark: "gemm-cpu",
  ...runInfo(import.meta.url),
  loadAverage: loadavg().map((v) => +v.toFixed(2)),
  native: { status: status.reason, info: initial ?? null },
  results,
}, null, 2));
