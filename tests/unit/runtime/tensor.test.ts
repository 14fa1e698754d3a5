import { test } from "node:test";
import assert from "node:assert/strict";
import { isIrisError } from "../../../src/core/errors.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../../src/core/half.js";
import { hostTensor, int64Tensor } from "../../../src/core/host-tensor.js";
import { download, downloadFloat32, downloadInt32, empty, fromHost, full, upload, zeros } from "../../../src/runtime/creation.js";
import { cpuDevice, getDevice } from "../../../src/runtime/device.js";
import { rmsNorm } from "../../../src/kernels/rms-norm.js";

const device = cpuDevice();

function throwsIris(fn: () => unknown, code = "INVALID_ARGUMENT"): void {
  assert.throws(fn, (e: unknown) => isIrisError(e) && e.code === code);
}

test("the cpu device computes in F32 and is one instance", () => {
  assert.equal(device.kind, "cpu");
  assert.equal(device.name, "cpu");
  assert.equal(device.floatDType, "F32");
  assert.equal(getDevice("cpu"), device);
  throwsIris(() => getDevice("cpu", 1));
  // BF16 tensors exist on the cpu for casts and copies (a GPU's logits); compute kernels take F32 only.
  const bits = fromHost(device, hostTensor("BF16", [1, 2], Uint16Array.from([f32ToBf16(1.5), f32ToBf16(-2)])), { dtype: "BF16" });
  assert.equal(bits.dtype, "BF16");
  throwsIris(() => rmsNorm(bits, null, 1e-6), "INTERNAL");
  throwsIris(() => empty(device, [2], "F64" as "F32"));
});

test("a cuda device is refused clearly while no cuda backend is registered", () => {
  assert.throws(() => getDevice("cuda", 0), (e: unknown) => isIrisError(e, "INVALID_ARGUMENT") && /cuda/.test(e.message));
});

test("views share storage: view with -1, narrow of leading rows", async () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => i + 1);
  const t = fromHost(device, data, { shape: [4, 3, 2] });
  assert.deepEqual(t.shape, [4, 3, 2]);
  assert.equal(t.numel, 24);
  assert.equal(t.size(-1), 2);
  const flat = t.view([4, -1]);
  assert.deepEqual(flat.shape, [4, 6]);
  assert.equal(flat.storage, t.storage);
  const rows = t.narrow(1, 2);
  assert.deepEqual(rows.shape, [2, 3, 2]);
  assert.deepEqual(Array.from(await downloadFloat32(rows)), Array.from(data.subarray(6, 18)));
  const inner = rows.reshape([6, 2]).narrow(5, 1);
  assert.deepEqual(Array.from(await downloadFloat32(inner)), [17, 18]);
  throwsIris(() => t.view([5, -1]));
  throwsIris(() => t.view([-1, -1]));
  throwsIris(() => t.view([25]));
  throwsIris(() => t.narrow(3, 2));
  throwsIris(() => t.narrow(-1, 1));
  throwsIris(() => t.size(3));
});

test("fromHost widens bf16 and f16 weights to F32 and narrows int64 ids to I32", async () => {
  const values = [1.5, -2.25, 3.140625, 0.0078125];
  const bf16 = hostTensor("BF16", [2, 2], Uint16Array.from(values, f32ToBf16));
  const f16 = hostTensor("F16", [4], Uint16Array.from(values, f32ToF16));
  const a = fromHost(device, bf16);
  assert.equal(a.dtype, "F32");
  assert.deepEqual(a.shape, [2, 2]);
  // All four values are exact in bf16 and f16, so widening must give them back exactly.
  assert.deepEqual(Array.from(await downloadFloat32(a)), values);
  assert.deepEqual(Array.from(await downloadFloat32(fromHost(device, f16))), values);
  const ids = fromHost(device, int64Tensor([3], [151655, 0, -7]));
  assert.equal(ids.dtype, "I32");
  assert.deepEqual(Array.from(await downloadInt32(ids)), [151655, 0, -7]);
  throwsIris(() => fromHost(device, int64Tensor([1], [2 ** 40])));
  throwsIris(() => fromHost(device, new Float32Array(4), { shape: [3] }));
  throwsIris(() => fromHost(device, new Float32Array(4), { dtype: "I32" }));
  throwsIris(() => fromHost(device, new Uint16Array(2)));
  const f64 = fromHost(device, new Float64Array([0.1, 2]));
  assert.deepEqual(Array.from(await downloadFloat32(f64)), [Math.fround(0.1), 2]);
});

test("uploads and downloads copy: later writes do not leak either way", async () => {
  const src = new Float32Array([1, 2, 3]);
  const t = fromHost(device, src);
  src[0] = 99;
  const out = await download(t);
  assert.ok(out instanceof Float32Array);
  assert.deepEqual(Array.from(out), [1, 2, 3]);
  out[1] = 42;
  assert.deepEqual(Array.from(await downloadFloat32(t)), [1, 2, 3]);
  await assert.rejects(downloadInt32(t), (e: unknown) => isIrisError(e, "INVALID_ARGUMENT"));
});

test("upload refills an existing buffer, or a view of it, in place", async () => {
  const slots = full(device, [4], -1, "I32");
  upload(slots.narrow(1, 2), new Int32Array([7, 9]));
  assert.deepEqual(Array.from(await downloadInt32(slots)), [-1, 7, 9, -1]);
  throwsIris(() => upload(slots, new Int32Array(3)));
  throwsIris(() => upload(slots, new Float32Array(4)));
  throwsIris(() => upload(zeros(device, [2]), new Int32Array(2)));
});

test("zeros and full fill, I32 included", async () => {
  assert.deepEqual(Array.from(await downloadFloat32(zeros(device, [2, 2]))), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(await downloadFloat32(full(device, [3], 2.5))), [2.5, 2.5, 2.5]);
  assert.deepEqual(Array.from(await downloadInt32(full(device, [2], -1, "I32"))), [-1, -1]);
});

test("a disposed tensor and its views cannot be used again", async () => {
  const t = fromHost(device, new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
  const view = t.narrow(1, 1);
  t.dispose();
  assert.equal(t.storage.alive, false);
  await assert.rejects(downloadFloat32(view), (e: unknown) => isIrisError(e, "INTERNAL"));
  t.dispose(); // a second dispose is harmless
});

test("float32 values uploaded as BF16 or F16 are rounded to nearest even as the host rule rounds them (on the device)", async () => {
  // Ties to even at both 16-bit formats, values past their ranges, subnormals, signed zeros, infinities and NaN.
  const values = Float32Array.from([
    1.5, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 3.4e38, -3.4e38, 70000, 1e-41, 6e-8, -0, 0,
    Infinity, -Infinity, NaN, Math.PI, -Math.E, 123.456,
  ]);
  const rounded = { BF16: (v: number) => bf16ToF32(f32ToBf16(v)), F16: (v: number) => f16ToF32(f32ToF16(v)) };
  for (const dtype of ["BF16", "F16"] as const) {
    for (const source of [hostTensor("F32", [values.length], values), hostTensor("F64", [values.length], Float64Array.from(values))]) {
      const t = fromHost(device, source, { dtype });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(Array.from(await download(t)), Array.from(values, rounded[dtype]), `${source.dtype} -> ${dtype}`);
    }
  }
});
