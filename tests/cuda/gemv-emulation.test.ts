// Builds and runs tests/cuda/gemv-emulation.cc: the skinny bf16 product's own source (plain and gated, its launchers'
// choices of warps a row included) compiled as plain C++ and run on the cpu against a float64 reference. Needs a C++
// compiler and the CUDA headers, not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("the gemv kernel, plain and gated, emulated on the cpu, matches a float64 reference", { skip: emulationSkip }, () => {
  runEmulation("gemv-emulation");
});
