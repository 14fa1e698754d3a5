/** fillUniform: values in [low, high), the same for the same seed, different for another, mean near the middle. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { empty } from "../../../src/runtime/creation.js";
import { cpuDevice } from "../../../src/runtime/device.js";
import { downloadFloat32 } from "../../../src/runtime/creation.js";

test("fillUniform is uniform in [low, high) and a function of the seed and the index alone", async () => {
  const device = cpuDevice();
  const draw = async (seed: number, n: number) => {
    const t = empty(device, [n], "F32");
    device.backend.fillUniform(t, seed, -2, 6);
    return downloadFloat32(t);
  };
  const a = await draw(1, 100_000), again = await draw(1, 100_000), b = await draw(2, 100_000), prefix = await draw(1, 1000);
  assert.deepEqual(again, a);
  assert.deepEqual(prefix, a.subarray(0, 1000), "element i depends on i, not on the length");
  assert.notDeepEqual(b, a);
  assert.ok(a.every((v) => v >= -2 && v < 6));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean - 2) < 0.05, `mean ${mean}`);
  const low = a.filter((v) => v < 0).length / a.length;
  assert.ok(Math.abs(low - 0.25) < 0.01, `share below 0: ${low}`);
});
