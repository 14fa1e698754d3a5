// Builds and runs tests/cuda/fp8-shared-expert-emulation.cc: Llama 4's shared expert folded into the routed experts'
// two decode products (native/cuda/include/fp8_shared_expert.cuh), its own source compiled as plain C++ and run on the
// cpu with both weight streamings, bit for bit against the seven kernels it replaces run the same way. Needs a C++
// compiler and the CUDA headers, not a GPU; skips visibly without them.
import { test } from "node:test";
import { emulationSkip, runEmulation } from "./cpu-emulation.js";

test("the shared expert folded into the routed experts' FP8 products, emulated on the cpu, has the separate kernels' bits", { skip: emulationSkip }, () => {
  runEmulation("fp8-shared-expert-emulation");
});
