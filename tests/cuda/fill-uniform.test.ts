// Dummy weights are drawn on the device: fillUniform on cuda gives the cpu's values (the same hash of seed and
// index), rounded to the storage dtype, in F32 and BF16.
import assert from "node:assert/strict";
import { test } from "node:test";
import { roundToBf16 } from "../../src/core/half.js";
import { cpu, cuda, host, poisonedPair, skipCuda } from "./harness.js";

test("fillUniform on cuda draws the cpu's values (F32 exactly up to the last rounding, BF16 rounded)", { skip: skipCuda }, async () => {
  for (const [dtype, seed, n] of [["F32", 7, 1000], ["BF16", 123456789, 300_001]] as const) {
    const [c, g] = poisonedPair([n], dtype === "BF16" ? "float" : "F32");
    cpu.backend.fillUniform(c, seed, -1e-3, 1e-3);
    cuda().backend.fillUniform(g, seed, -1e-3, 1e-3);
    const [want, got] = [await host(c), await host(g)];
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      const expected = dtype === "BF16" ? roundToBf16(want[i]) : want[i];
      // One ulp of slack for float32 arithmetic order; bf16 values may round across a midpoint from it.
      if (Math.abs(got[i] - expected) > Math.abs(expected) * (dtype === "BF16" ? 8e-3 : 2e-7)) mismatches++;
    }
    assert.equal(mismatches, 0, `${dtype}: ${mismatches} of ${n} values differ from the cpu's`);
    assert.ok(want.every((v) => v >= -1e-3 && v < 1e-3), "values in [low, high)");
  }
});
