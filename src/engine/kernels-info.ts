/**
 * Which kernels run the model, for `engine.info`, `getServerInfo()` and `iris --version`: a package installed without
 * its native cpu kernels is several times slower, and should say so instead of leaving the user to guess.
 */
import { nativeCpuStatus } from "../runtime/native.js";

export interface KernelsInfo {
  readonly device: "cpu" | "cuda";
  /** Whether native (C++ or CUDA) kernels run, rather than the TypeScript fallback. */
  readonly native: boolean;
  /** e.g. "native C++ (avx512, 2 threads)" or "TypeScript (build/iris_cpu.node not found ...)". */
  readonly description: string;
}

/** Loads (once) and describes the kernels of `device` in the calling thread. */
export function describeKernels(device: "cpu" | "cuda"): KernelsInfo {
  // An engine on cuda exists only once getDevice("cuda") loaded the addon (the cuda code stays behind runtime/device).
  if (device === "cuda") return { device, native: true, description: "CUDA (build/iris_cuda.node)" };
  const status = nativeCpuStatus();
  if (status.addon) {
    const info = status.addon.info();
    return { device, native: true, description: `native C++ (${info.isa}, ${info.threads} threads)` };
  }
  return { device, native: false, description: `TypeScript (${status.reason})` };
}
