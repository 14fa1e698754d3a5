// Builds and runs tests/cuda/attention-decode-emulation.cc: the decode attention kernel's own source (its launcher's
// choices of parts, lanes a key and splits included) compiled as plain C++ and run on the cpu, one lane a key and
// four, against a float64 reference. Needs a C++ compiler and the CUDA headers, not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("the decode attention kernel, emulated on the cpu with one and four lanes a key, matches a float64 reference", { skip: emulationSkip }, () => {
  runEmulation("attention-decode-emulation");
});
