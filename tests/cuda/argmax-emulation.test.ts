// Builds and runs tests/cuda/argmax-emulation.cc: argmax's own source (the scalar and the 16-byte kernel, its launcher's
// slices) compiled as plain C++ and run on the cpu against the cpu backend's order. Needs a C++ compiler and the
// CUDA headers, not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("argmax, scalar and 16-byte, emulated on the cpu, picks the cpu's index", { skip: emulationSkip }, () => {
  runEmulation("argmax-emulation");
});
