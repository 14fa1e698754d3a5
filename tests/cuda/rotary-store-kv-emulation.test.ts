// Builds and runs tests/cuda/rotary-store-kv-emulation.cc: rotaryStoreKV's 16-byte kernel against its one-value
// kernel (bit for bit) and a float64 reference, compiled as plain C++ and run on the cpu. Needs a C++ compiler and the
// CUDA headers, not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("rotaryStoreKV's 16-byte kernel, emulated on the cpu, writes the one-value kernel's bits", { skip: emulationSkip }, () => {
  runEmulation("rotary-store-kv-emulation");
});
