/**
 * How the FP8 decode product's time grows with its rows, printing JSON: one token against weights of K = 5,120 and
 * 8,192 and N = 16 x SMs x k rows for k = 1 to 8 (k 16-row tiles a multiprocessor on average, the tensor-core
 * streaming's unit of work: native/cuda/include/fp8_stream_mma.cuh), plus Scout's q|k|v (N = 7,168: 3.39 tiles a
 * multiprocessor on the H200) and o (N = 5,120: 2.42). The kernel's grid is one resident wave, each block a whole
 * number of tiles, so a multiprocessor streams ceil or floor of the average: if the time follows the ceiling (q|k|v
 * as long as k = 4) the imbalance costs what the ceiling adds over the average, and a split of the tiles along K
 * would win it back; if it follows the average, it does not. The intercept of the line is the product's fixed cost
 * (launch, x quantized in every block, the last pass's tail). FP8 on the tensor cores forced (tuneCudaKernels
 * fp8ProductOnTensorCores), the quantization inside, streamed through registers (fp8: MmaRows, the rule) and by bulk
 * copies of each tile (bulk: fp8BulkRows, fp8_stream_bulk.cuh), and through registers with 8 loads a lane in flight
 * (batch8: fp8StreamBatch 8, 4 blocks a multiprocessor as bf16's gemv has); bf16's gemv at the same shapes beside it.
 *
 *   node --import tsx bench/fp8-tiles-cuda.ts
 */
import { E4M3_MAX } from "../src/core/fp8.js";
import { linear } from "../src/kernels/linear.js";
import { linearFp8 } from "../src/kernels/linear-fp8.js";
import { empty } from "../src/runtime/creation.js";
import { tuneCudaKernels } from "../src/runtime/cuda/kernel-tuning.js";
import { getDevice } from "../src/runtime/device.js";
import type { Tensor } from "../src/runtime/tensor.js";
import { runInfo } from "./run-info.js";
import { secondsPerDeviceCall } from "./timing.js";

const device = getDevice("cuda");
const backend = device.backend;
const SMS = 132; // H200; the JSON's device line says which card ran
let seed = 1;

function uniform(shape: number[], scale: number, dtype?: "F8_E4M3"): Tensor {
  const t = empty(device, shape, dtype);
  backend.fillUniform(t, seed++, -scale, scale);
  return t;
}

/** Seconds per call (bench/timing.ts). */
const time = (fn: () => void): Promise<number> => secondsPerDeviceCall(device, fn, 0.2, 16 << 20);

const rows: Record<string, unknown>[] = [];
tuneCudaKernels({ fp8ProductOnTensorCores: true });
try {
  for (const K of [5120, 8192]) {
    const shapes = [1, 2, 3, 4, 5, 6, 8].map((k) => 16 * SMS * k);
    if (K === 5120) shapes.push(7168, 5120);
    for (const N of shapes.sort((a, b) => a - b)) {
      const x = uniform([1, K], 1);
      const w8 = { data: uniform([N, K], E4M3_MAX, "F8_E4M3"), scale: empty(device, [N], "F32") };
      backend.fill(w8.scale, 0.02 / E4M3_MAX);
      const w16 = uniform([N, K], 0.02);
      const fp8 = await time(() => linearFp8(x, w8));
      tuneCudaKernels({ fp8ProductOnTensorCores: true, fp8BulkRows: true });
      const bulk = await time(() => linearFp8(x, w8));
      tuneCudaKernels({ fp8ProductOnTensorCores: true, fp8StreamBatch: 8 });
      const batch8 = await time(() => linearFp8(x, w8));
      tuneCudaKernels({ fp8ProductOnTensorCores: true });
      const bf16 = await time(() => linear(x, w16));
      const tiles = Math.ceil(N / 16);
      rows.push({ K, N, tilesPerSM: +(tiles / SMS).toFixed(2), fp8Us: +(fp8 * 1e6).toFixed(2),
        fp8GBps: Math.round(N * K / fp8 / 1e9), bulkUs: +(bulk * 1e6).toFixed(2), bulkGBps: Math.round(N * K / bulk / 1e9),
        batch8Us: +(batch8 * 1e6).toFixed(2), batch8GBps: Math.round(N * K / batch8 / 1e9), bf16Us: +(bf16 * 1e6).toFixed(2), bf16GBps: Math.round(2 * N * K / bf16 / 1e9) });
      for (const t of [x, w8.data, w8.scale, w16]) t.dispose();
    }
  }
} finally {
  tuneCudaKernels({});
}
console.log(JSON.stringify({ ...runInfo(import.meta.url), device: backend.description, rows }, null, 1));
