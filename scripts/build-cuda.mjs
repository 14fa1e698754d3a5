#!/usr/bin/env node
// Builds build/iris_cuda.node, the cuda backend's kernels (native/cuda/), without node-gyp: one nvcc per source
// file, all at once (the GPU machine has 16 cores), then one link against cuBLASLt. Incremental: an object is
// rebuilt only when its source or a header changed since it was built.
//
// Where nvcc, cuBLASLt or Node's headers are missing (CI, a laptop) this prints one line and exits 0: the cpu
// backend is unaffected and `getDevice("cuda")` explains that the addon is missing. --strict exits 1 instead.
//
//   node scripts/build-cuda.mjs [--force] [--strict]      (CUDA_HOME picks the toolkit; NVCC_ARCHS the targets,
//                                                           as virtual:real pairs, e.g. compute_90a:sm_90a)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { nodeApiIncludeDir } from "./node-api-headers.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const sourceDir = join(root, "native", "cuda");
const output = join(root, "build", "iris_cuda.node");
const force = process.argv.includes("--force");
const strict = process.argv.includes("--strict");

function skip(reason) {
  console.log(`iris: cuda backend not built (${reason})`);
  process.exit(strict ? 1 : 0);
}

/** The toolkit: CUDA_HOME, else the folder above the nvcc on PATH, else /usr/local/cuda. */
function cudaHome() {
  if (process.env.CUDA_HOME) return process.env.CUDA_HOME;
  const which = spawnSync("sh", ["-c", "command -v nvcc"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return resolve(dirname(which.stdout.trim()), "..");
  return "/usr/local/cuda";
}

const home = cudaHome();
const nvcc = join(home, "bin", "nvcc");
if (!existsSync(nvcc)) skip(`no nvcc at ${nvcc}`);
const findIn = (dirs, name) => dirs.find((dir) => existsSync(join(dir, name)));
const targetDir = join(home, "targets", `${process.arch === "arm64" ? "sbsa" : "x86_64"}-linux`);
const includeDirs = [join(home, "include"), join(targetDir, "include")];
const libDirs = [join(home, "lib64"), join(targetDir, "lib"), "/usr/lib/x86_64-linux-gnu"];
if (!findIn(includeDirs, "cublasLt.h")) skip(`cuBLASLt headers not found under ${home}`);
const libDir = findIn(libDirs, "libcublasLt.so");
if (!libDir) skip(`libcublasLt.so not found under ${home}`);
const napiDir = nodeApiIncludeDir();
if (!napiDir) skip("Node-API headers not found");

// sm_90a for Hopper's own instructions, machine code for A100 (sm_80) and L40S (sm_89), PTX for later chips.
const archs = (process.env.NVCC_ARCHS ?? "compute_90a:sm_90a,compute_80:sm_80,compute_89:sm_89,compute_90:compute_90")
  .split(",").map((pair) => pair.split(":"));
// Objects of another architecture list live apart, so switching lists never links objects built for the other one.
// (The H200 runs set NVCC_ARCHS to sm_90a alone: fp8_moe.cu takes ~200 s for sm_80, where FP8 has no instructions,
// against ~30 s for sm_90a, and that one file held every GPU build's end.)
const objectDir = join(root, "build", process.env.NVCC_ARCHS ? `cuda-obj-${process.env.NVCC_ARCHS.replace(/[^A-Za-z0-9]+/g, "-")}` : "cuda-obj");
// --threads: each file's architectures compile side by side, so the longest files (the FP8 products, attention) do
// not hold the build's end on one core while the other 15 sit idle.
const common = ["-std=c++17", "-O3", "-DNDEBUG", "--threads", "4", "-Xcompiler", "-fPIC,-fvisibility=hidden,-Wall",
  `-I${join(sourceDir, "include")}`, `-I${join(sourceDir, "addon")}`, `-I${napiDir}`];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const files = walk(sourceDir);
const sources = files.filter((f) => f.endsWith(".cu") || f.endsWith(".cc"));
const headersTime = Math.max(statSync(fileURLToPath(import.meta.url)).mtimeMs,
  ...files.filter((f) => f.endsWith(".h") || f.endsWith(".cuh")).map((f) => statSync(f).mtimeMs));
mkdirSync(objectDir, { recursive: true });

function objectOf(source) {
  return join(objectDir, `${relative(sourceDir, source).replaceAll("/", "_")}.o`);
}

function compile(source) {
  const object = objectOf(source);
  if (!force && existsSync(object) && statSync(object).mtimeMs >= Math.max(statSync(source).mtimeMs, headersTime)) {
    return Promise.resolve({ source, rebuilt: false });
  }
  const device = source.endsWith(".cu") ? archs.map(([v, c]) => `-gencode=arch=${v},code=${c}`) : [];
  const args = [...common, ...device, "-c", source, "-o", `${object}.tmp`];
  return new Promise((done) => {
    const child = spawn(nvcc, args, { stdio: ["ignore", "inherit", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => { stderr += chunk; });
    child.on("close", (code) => {
      if (code === 0) renameSync(`${object}.tmp`, object);
      else rmSync(`${object}.tmp`, { force: true });
      done({ source, rebuilt: true, code, stderr });
    });
  });
}

const start = performance.now();
// One nvcc per file, as many at once as there are cores (each nvcc runs its architectures one after another).
const queue = [...sources];
const results = [];
await Promise.all(Array.from({ length: Math.max(1, Math.min(cpus().length, queue.length)) }, async () => {
  while (queue.length > 0) results.push(await compile(queue.shift()));
}));
const failed = results.filter((r) => r.rebuilt && r.code !== 0);
for (const r of results) if (r.stderr) process.stderr.write(r.stderr);
if (failed.length > 0) {
  rmSync(output, { force: true }); // a binary of older sources must not pass for this build
  console.log(`iris: cuda backend not built (nvcc failed on ${failed.map((r) => basename(r.source)).join(", ")})`);
  process.exit(strict ? 1 : 0);
}
const objects = sources.map(objectOf);
if (!force && existsSync(output) && results.every((r) => !r.rebuilt) &&
  objects.every((o) => statSync(o).mtimeMs <= statSync(output).mtimeMs)) {
  console.log(`iris: ${relative(root, output)} is up to date`);
  process.exit(0);
}
// Link to a temporary name and rename: a process that has the old file loaded keeps its copy intact. The CUDA
// runtime links statically; cuBLASLt is found at run time through the rpath. nodelete: Node unloads an addon
// with the worker thread that loaded it, but the library's pinned buffers and stream outlive any one worker.
const temporary = `${output}.${process.pid}.tmp`;
const link = spawnSync(nvcc, ["-shared", ...archs.map(([v, c]) => `-gencode=arch=${v},code=${c}`), ...objects, "-o", temporary,
  `-L${libDir}`, "-lcublasLt", "-ldl", "-Xlinker", `-rpath,${libDir}`, "-Xlinker", "-z,nodelete"], { encoding: "utf8" });
if (link.status !== 0) {
  rmSync(temporary, { force: true });
  rmSync(output, { force: true });
  process.stderr.write(link.stderr || String(link.error ?? ""));
  console.log("iris: cuda backend not built (the link failed)");
  process.exit(strict ? 1 : 0);
}
renameSync(temporary, output);
const rebuilt = results.filter((r) => r.rebuilt).length;
const seconds = ((performance.now() - start) / 1000).toFixed(1);
console.log(`iris: built ${relative(root, output)} (${rebuilt} of ${sources.length} files compiled) in ${seconds} s`);
