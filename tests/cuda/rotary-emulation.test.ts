// Builds and runs tests/cuda/rotary-emulation.cc: applyRotary's kernels (the 16-byte one that rotates q and k in one
// launch, the one-pair fallback) compiled as plain C++ and run on the cpu, against two one-pair calls bit for bit
// and a float64 reference. Needs a C++ compiler and the CUDA headers, not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("applyRotary's kernels, emulated on the cpu: q and k in one launch equal two calls and a float64 reference", { skip: emulationSkip }, () => {
  runEmulation("rotary-emulation");
});
