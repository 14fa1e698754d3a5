// The cuda build and test entry points on a machine without the CUDA toolkit's cuBLASLt or a GPU (CI): one line,
// exit 0, quickly; --strict turns the skip into a failure.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..", "..", "..");
const run = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [join(root, "scripts", script), ...args], { encoding: "utf8", env: { ...process.env, ...env } });

test("build-cuda.mjs without a toolkit prints one line and exits 0 (1 with --strict)", () => {
  const empty = mkdtempSync(join(tmpdir(), "no-cuda-"));
  try {
    const start = performance.now();
    const result = run("build-cuda.mjs", [], { CUDA_HOME: empty });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim().split("\n").length, 1);
    assert.match(result.stdout, /^iris: cuda backend not built \(no nvcc at /);
    assert.ok(performance.now() - start < 5000, "the skip is quick");
    assert.equal(run("build-cuda.mjs", ["--strict"], { CUDA_HOME: empty }).status, 1);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test("npm run test:cuda without the addon says it skipped and exits 0", { skip: existsSync(join(root, "build", "iris_cuda.node")) && "the addon is built here" }, () => {
  const result = run("test-cuda.mjs", []);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^skipped: no CUDA device\/addon \(/);
});
