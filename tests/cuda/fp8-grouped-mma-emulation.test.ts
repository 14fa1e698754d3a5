// Builds and runs tests/cuda/fp8-grouped-mma-emulation.cc: the experts' tensor-core FP8 product's own source compiled
// as plain C++ and run on the cpu with its PTX emulated, against a float64 product of the same bytes. Needs a C++
// compiler and the CUDA headers (for Fp8RowsArgs and the vector types), not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("the experts' tensor-core FP8 product, emulated on the cpu, matches a float64 reference", { skip: emulationSkip }, () => {
  runEmulation("fp8-grouped-mma-emulation");
});
