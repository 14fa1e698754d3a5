// Without the cuda addon (here: disabled by IRIS_CUDA=0, so the test means the same on a GPU machine), asking for
// a cuda device fails with an IrisError that says why, and the cpu device is unaffected.
import assert from "node:assert/strict";
import { test } from "node:test";
import { IrisError } from "../../../src/core/errors.js";
import { cpuDevice, getDevice } from "../../../src/runtime/device.js";

test("getDevice('cuda') without the addon throws an IrisError naming the reason", () => {
  process.env.IRIS_CUDA = "0"; // read when the cuda device is first asked for, not at import
  assert.throws(() => getDevice("cuda"), (err: unknown) =>
    err instanceof IrisError && err.code === "INVALID_ARGUMENT" && /cuda device is unavailable: disabled by IRIS_CUDA=0/.test(err.message));
  assert.equal(cpuDevice().backend.kind, "cpu");
});
