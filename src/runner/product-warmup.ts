/**
 * Runs each of the model's matrix products once at every token count bucket a step can bring, before the first
 * request. On cuda a product's first call at a new bucket picks its cuBLASLt algorithm (native/cuda/kernels/gemm_lt.cc
 * keeps one per power of two of rows) and its first launch of a kernel loads that kernel's module (lazily, one at a
 * time): measured on the H200 (bench/results/2026-12-03-session5-h200.md, run 5), 421 ms of first launches and
 * 109 ms of heuristic queries inside the offline workload's prompt steps, with the device idle meanwhile. Loading
 * every module of the library at start (CUDA_MODULE_LOADING=EAGER) was slower; this loads the ones the model uses.
 */
import { zeros } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { DeclaredProduct } from "../layers/parameters.js";

/** Rows from which the cuda backend's bf16 products leave the skinny-matrix kernel for cuBLASLt (T > 8). */
const FIRST_BUCKET = 16;
/** The most memory one warm-up product may take for its input and output (the step arena is reused). */
const BYTES_PER_PRODUCT = 512 * 2 ** 20;

export interface WarmupReport {
  /** Distinct products (by kernel key) and the calls made. */
  readonly products: number;
  readonly calls: number;
  /** Host time of the calls: algorithm queries and module loads (the device runs them meanwhile, not awaited). */
  readonly seconds: number;
}

export interface WarmupOptions {
  /** The most rows a step or a vision pass gives a product: buckets up to the power of two at or above it. */
  readonly maxRows: number;
  /** Runs one call (the runner's arena scratch: the arena grows to the largest call, as a full prefill step would). */
  readonly scope: (fn: () => void) => void;
  /** A call's input and output bytes at most; larger buckets of that product are left to the first step. */
  readonly bytesPerProduct?: number;
}

/** Calls each distinct product (by `key`) at 16, 32, ... rows up to the bucket of `maxRows`. */
export function warmProducts(device: Device, products: readonly DeclaredProduct[], options: WarmupOptions): WarmupReport {
  const { maxRows, scope, bytesPerProduct = BYTES_PER_PRODUCT } = options;
  const start = performance.now();
  const distinct = new Map(products.map((p) => [p.key, p]));
  const elementBytes = device.floatDType === "F32" ? 4 : 2;
  let calls = 0;
  for (const product of distinct.values()) {
    for (let rows = FIRST_BUCKET; rows < 2 * maxRows; rows *= 2) {
      if (rows * (product.inFeatures + product.outFeatures) * elementBytes > bytesPerProduct) break;
      scope(() => void product.forward(zeros(device, [rows, product.inFeatures])));
      calls++;
    }
  }
  return { products: distinct.size, calls, seconds: (performance.now() - start) / 1000 };
}
