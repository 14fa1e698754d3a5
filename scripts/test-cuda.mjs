#!/usr/bin/env node
// npm run test:cuda: the cuda kernels against the cpu backend (tests/cuda) on a machine with a GPU and the addon
// (build/iris_cuda.node). Elsewhere it prints one visible line saying why and exits 0, so CI passes as before.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const addonPath = join(root, "build", "iris_cuda.node");

function why() {
  if (!existsSync(addonPath)) return `${addonPath} not built`;
  try {
    createRequire(import.meta.url)(addonPath).init(Number(process.env.IRIS_CUDA_DEVICE ?? 0));
    return null;
  } catch (err) {
    return err.message;
  }
}

const reason = why();
if (reason !== null) {
  console.log(`skipped: no CUDA device/addon (${reason})`);
  process.exit(0);
}
const result = spawnSync(process.execPath, [join(root, "scripts", "run-tests.mjs"), join(root, "tests", "cuda")], { stdio: "inherit" });
process.exit(result.status ?? 1);
