// Builds and runs a kernel's cpu emulation (tests/cuda/*-emulation.cc: the kernel's own source compiled as plain
// C++, its device built-ins emulated, checked against a float64 reference). Needs a C++ compiler and the CUDA headers
// (for AttentionArgs and the vector types), not a GPU; `emulationSkip` says visibly why a test skips without them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function which(name: string): string | null {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
}

function cudaInclude(): string | null {
  const nvcc = which("nvcc");
  const homes = [process.env.CUDA_HOME, nvcc === null ? undefined : resolve(dirname(nvcc), ".."), "/usr/local/cuda"];
  for (const home of homes) if (home !== undefined && existsSync(join(home, "include", "cuda_runtime.h"))) return join(home, "include");
  return null;
}

const compiler = [process.env.CXX, "c++", "g++", "clang++"].map((n) => (n ? which(n) : null)).find((p) => p !== null) ?? null;
const include = cudaInclude();
export const emulationSkip = compiler === null ? "skipped: no C++ compiler" : include === null ? "skipped: no CUDA headers (cuda_runtime.h)" : false;

/** Compiles tests/cuda/`name`.cc, runs it, and asserts it exits 0 with its last line "ok". */
export function runEmulation(name: string): void {
  const dir = mkdtempSync(join(tmpdir(), `iris-${name}-`));
  try {
    const exe = join(dir, name);
    const build = spawnSync(compiler as string, ["-std=c++17", "-O1", "-w", `-I${include}`, `-I${join(root, "native", "cuda", "include")}`,
      join(root, "tests", "cuda", `${name}.cc`), "-o", exe], { encoding: "utf8" });
    assert.equal(build.status, 0, `${compiler} failed: ${build.stderr}`);
    const run = spawnSync(exe, { encoding: "utf8", timeout: 300_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /\nok\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
