// Builds and runs tests/cuda/mma-fragments.cu, the cpu emulation of the PTX fragment tables that checks the lane maps
// of the tensor-core attention kernel. Needs nvcc (host code only, no GPU): it runs wherever nvcc is found.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function findNvcc(): string | null {
  const home = process.env.CUDA_HOME;
  if (home !== undefined && existsSync(join(home, "bin", "nvcc"))) return join(home, "bin", "nvcc");
  const which = spawnSync("sh", ["-c", "command -v nvcc"], { encoding: "utf8" });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : null;
}

const nvcc = findNvcc();

test("mma fragment maps match the PTX ISA's tables (cpu emulation)", { skip: nvcc === null ? "skipped: no nvcc" : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "iris-mma-"));
  try {
    const exe = join(dir, "mma-fragments");
    const build = spawnSync(nvcc as string, ["-std=c++17", `-I${join(root, "native", "cuda", "include")}`,
      join(root, "tests", "cuda", "mma-fragments.cu"), "-o", exe], { encoding: "utf8" });
    assert.equal(build.status, 0, `nvcc failed: ${build.stderr}`);
    const run = spawnSync(exe, { encoding: "utf8" });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^ok/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
