#!/usr/bin/env node
// Builds build/iris_cpu.node, the native kernels of the cpu backend (native/), with one call of the system C++
// compiler against Node-API's C headers: no node-gyp, no CMake, no network. The kernels choose AVX-512, AVX2 or
// portable code when they load, so the file itself targets the baseline ISA and cannot stop an older CPU with an
// illegal instruction.
//
// Without a compiler or Node's headers this prints one warning and exits 0: the install goes on and the cpu backend
// keeps its TypeScript kernels. A compile error also exits 0 (after the compiler's messages) unless --strict; the
// tests notice an addon missing on a machine that has a compiler (tests/unit/runtime/native-gemm.test.ts).
//
// The published package carries the build and this script (its "install" script, run where npm runs install scripts
// or after `npm install-scripts approve iris-vlm`), which rebuilds on a platform the carried binary does not load on.
//
//   node scripts/build-native.mjs [--force] [--strict]      (CXX picks the compiler; g++ by default)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { nodeApiIncludeDir } from "./node-api-headers.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(root, "build", "iris_cpu.node");
const sources = ["native/addon/addon.cc", "native/kernels/gemm_cpu.cc"].map((p) => join(root, p));
const compiler = process.env.CXX || "g++";
const force = process.argv.includes("--force");
const strict = process.argv.includes("--strict");

function giveUp(reason) {
  console.warn(`iris: native cpu kernels not built (${reason}); the cpu backend keeps its TypeScript kernels`);
  process.exit(strict ? 1 : 0);
}

function newestInput() {
  const files = [fileURLToPath(import.meta.url)];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(root, "native"));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/** Whether the file loads in this Node.js: a binary carried in the package from another platform does not. */
function loads(path) {
  try {
    createRequire(import.meta.url)(path);
    return true;
  } catch (err) {
    console.log(`iris: ${relative(root, path)} does not load here (${err.message.split("\n")[0]}); rebuilding`);
    return false;
  }
}

// The package carries a build (build/iris_cpu.node, see package.json "files"): keep it where it is current and loads.
if (!force && existsSync(output) && statSync(output).mtimeMs >= newestInput() && loads(output)) {
  console.log(`iris: ${relative(root, output)} is up to date`);
  process.exit(0);
}

const version = spawnSync(compiler, ["--version"], { encoding: "utf8" });
if (version.error || version.status !== 0) giveUp(`no C++ compiler: \`${compiler} --version\` failed`);
const includeDir = nodeApiIncludeDir();
if (!includeDir) giveUp("Node-API headers not found: install node-api-headers or a Node.js with include/node");

const flags = [
  "-std=c++17", "-O3", "-DNDEBUG", "-fPIC", "-shared", "-pthread", "-fvisibility=hidden", "-Wall", "-Wextra",
  // ISO C++ mode turns off contraction of a*b+c into FMA; the kernels' vector code relies on it.
  "-ffp-contract=fast",
  // Node unloads an addon when the worker thread that loaded it exits; the kernels' thread pool outlives any one
  // worker, so the library must stay mapped (otherwise its threads crash the process at the engine's shutdown).
  "-Wl,-z,nodelete",
  `-I${join(root, "native", "include")}`, `-I${includeDir}`,
];
// macOS: napi_* resolve from the node binary, and its linker has no -z nodelete.
if (process.platform === "darwin") flags.splice(flags.indexOf("-Wl,-z,nodelete"), 1, "-undefined", "dynamic_lookup");

// Compile to a temporary name and rename: a process that has the old file loaded keeps its copy intact.
mkdirSync(dirname(output), { recursive: true });
const temporary = `${output}.${process.pid}.tmp`;
const start = performance.now();
const result = spawnSync(compiler, [...flags, ...sources, "-o", temporary], { encoding: "utf8" });
if (result.status !== 0) {
  rmSync(temporary, { force: true });
  rmSync(output, { force: true }); // a binary of older sources must not pass for this build
  process.stderr.write(result.stderr || String(result.error ?? ""));
  giveUp(`${compiler} failed`);
}
if (result.stderr) process.stderr.write(result.stderr); // warnings
renameSync(temporary, output);
const seconds = ((performance.now() - start) / 1000).toFixed(1);
console.log(`iris: built ${relative(root, output)} with ${version.stdout.split("\n")[0]} in ${seconds} s`);
