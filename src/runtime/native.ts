/**
 * The native cpu kernels, build/iris_cpu.node (built by `npm run build:native` from native/), and the exact type of
 * what it exports. This is the only file that loads native code; when the addon is missing, stale or fails to load,
 * or `IRIS_CPU_NATIVE=0`, `loadNativeCpu()` returns null and the cpu backend runs its TypeScript kernels.
 * `nativeCpuStatus().reason` says which, for a log line.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** Bumped with `kAbiVersion` in native/addon/addon.cc whenever the surface below changes: a stale build is refused. */
export const NATIVE_CPU_ABI_VERSION = 1;

export type NativeCpuIsa = "avx512" | "avx2" | "portable";

export interface NativeCpuInfo {
  /** The code path products run now. */
  readonly isa: NativeCpuIsa;
  /** The paths this CPU supports, best first. */
  readonly isas: readonly NativeCpuIsa[];
  /** Threads a product may use, the caller's included. */
  readonly threads: number;
  /** Cores available to the process (affinity mask and cgroup quota), capped at 16. */
  readonly maxThreads: number;
}

/** The exports of build/iris_cpu.node (native/addon/addon.cc). */
export interface NativeCpuAddon {
  readonly abiVersion: number;
  /**
   * y[T, N] = x[T, K] · w[N, K]ᵀ + bias[N] (bias may be null), float32, row-major, written in place into y's memory
   * (views at any offset). Returns when y is written. Throws a TypeError for an argument that is not a Float32Array
   * and a RangeError unless the lengths are exactly T*K, N*K, T*N and N, or when y overlaps an input.
   */
  linear(y: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, T: number, K: number, N: number): void;
  info(): NativeCpuInfo;
  /** Selects the code path (one of `info().isas`) and the thread count (clamped to maxThreads) for later products. */
  configure(options: { readonly isa?: NativeCpuIsa; readonly threads?: number }): NativeCpuInfo;
}

export interface NativeCpuStatus {
  readonly addon: NativeCpuAddon | null;
  /** Where the addon is looked for. */
  readonly path: string;
  /** "loaded (avx512, 2 threads)", or why the TypeScript kernels run. */
  readonly reason: string;
}

// build/ at the package root: two levels above both src/runtime/ (tsx) and dist/runtime/ (compiled).
const ADDON_PATH = fileURLToPath(new URL("../../build/iris_cpu.node", import.meta.url));

let status: NativeCpuStatus | undefined;

/** Loads the addon on first use; later calls return the same result. */
export function nativeCpuStatus(): NativeCpuStatus {
  status ??= load();
  return status;
}

export function loadNativeCpu(): NativeCpuAddon | null {
  return nativeCpuStatus().addon;
}

function load(): NativeCpuStatus {
  const path = ADDON_PATH;
  const without = (reason: string): NativeCpuStatus => ({ addon: null, path, reason });
  if (process.env.IRIS_CPU_NATIVE === "0") return without("disabled by IRIS_CPU_NATIVE=0");
  if (!existsSync(path)) return without(`${path} not found (npm run build:native builds it)`);
  let exports: unknown;
  try {
    exports = createRequire(import.meta.url)(path);
  } catch (err) {
    return without(`${path} failed to load: ${(err as Error).message}`);
  }
  const addon = exports as Partial<NativeCpuAddon>;
  if (addon.abiVersion !== NATIVE_CPU_ABI_VERSION || typeof addon.linear !== "function" || typeof addon.info !== "function" ||
    typeof addon.configure !== "function") {
    return without(`${path} is stale (abiVersion ${String(addon.abiVersion)}, expected ${NATIVE_CPU_ABI_VERSION}): rebuild with npm run build:native`);
  }
  const info = (addon as NativeCpuAddon).info();
  return { addon: addon as NativeCpuAddon, path, reason: `loaded (${info.isa}, ${info.threads} threads)` };
}
