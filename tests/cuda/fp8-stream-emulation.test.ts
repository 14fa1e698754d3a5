// Builds and runs tests/cuda/fp8-stream-emulation.cc: the quantizing FP8 product's own source (its launcher, both
// weight streamings: the CUDA cores' and the tensor cores' mma over E4M3) compiled as plain C++ and run on the cpu,
// against a float64 reference of the dequantized product. Needs a C++ compiler and the CUDA headers, not a GPU; skips
// visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("the quantizing FP8 product, emulated on the cpu on the CUDA cores and the tensor cores, matches a float64 reference", { skip: emulationSkip }, () => {
  runEmulation("fp8-stream-emulation");
});
