// Builds and runs tests/cuda/attention-decode-mma-emulation.cc: decode attention on the tensor cores, its own source
// (the launcher's splits included) compiled as plain C++ and run on the cpu with its PTX emulated, against a float64
// reference. Needs a C++ compiler and the CUDA headers, not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("decode attention on the tensor cores, emulated on the cpu, matches a float64 reference", { skip: emulationSkip }, () => {
  runEmulation("attention-decode-mma-emulation");
});
