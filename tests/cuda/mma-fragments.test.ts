// Builds and runs tests/cuda/mma-fragments.cu, the cpu emulation of the PTX fragment tables that checks the lane maps
// of the tensor-core attention kernel. Plain C++ (no CUDA, no GPU): runs wherever a C++ compiler is (CXX, c++, g++).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function findCompiler(): string | null {
  for (const name of [process.env.CXX, "c++", "g++", "clang++"]) {
    if (!name) continue;
    const which = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  }
  return null;
}

const compiler = findCompiler();

test("mma fragment maps match the PTX ISA's tables (cpu emulation)", { skip: compiler === null ? "skipped: no C++ compiler" : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "iris-mma-"));
  try {
    const exe = join(dir, "mma-fragments");
    const build = spawnSync(compiler as string, ["-std=c++17", "-O1", "-x", "c++", `-I${join(root, "native", "cuda", "include")}`,
      join(root, "tests", "cuda", "mma-fragments.cu"), "-o", exe], { encoding: "utf8" });
    assert.equal(build.status, 0, `${compiler} failed: ${build.stderr}`);
    const run = spawnSync(exe, { encoding: "utf8" });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^ok/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
