// Builds and runs tests/cuda/attention-mma-emulation.cc: the tensor-core attention kernel's own source compiled as
// plain C++ and run on the cpu with its PTX emulated, against a float64 reference. Needs a C++ compiler and the CUDA
// headers (for AttentionArgs and the vector types), not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("the tensor-core attention kernel, emulated on the cpu, matches a float64 reference", { skip: emulationSkip }, () => {
  runEmulation("attention-mma-emulation");
});
