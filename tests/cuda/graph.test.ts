// CUDA graphs: a captured step (products, a norm and split-K paged attention, whose scratch comes from the
// allocator during the capture) replays on new inputs with the eager result, and the graph's scratch is never
// handed to another tensor.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { f32ToBf16 } from "../../src/core/half.js";
import type { PagedAttentionMeta } from "../../src/runtime/backend.js";
import { empty, fromHost } from "../../src/runtime/creation.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import type { Tensor } from "../../src/runtime/tensor.js";
import { captureGraph, cuda, host, randomValues, rng, skipCuda } from "./harness.js";

describe("cuda graphs", { skip: skipCuda }, () => {
  test("a captured step replays on new inputs exactly as it runs eagerly", async () => {
    const device = cuda(), backend = device.backend as CudaBackend, random = rng(5);
    const bits = (values: Float32Array) => Uint16Array.from(values, f32ToBf16);
    const bf16 = (shape: number[], lo = -1, hi = 1) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return fromHost(device, { dtype: "BF16", shape, data: bits(randomValues(random, n, lo, hi)) }, { shape, dtype: "BF16" });
    };
    const ints = (v: number[], shape = [v.length]) => fromHost(device, Int32Array.from(v), { shape, dtype: "I32" });
    const B = 2, K = 256, N = 512, Hq = 8, Hk = 2, D = 64, pageSize = 16, kvLen = 3000;
    const pages = Math.ceil(kvLen / pageSize);
    const x = bf16([B, K]), w = bf16([N, K], -0.1, 0.1), normWeight = bf16([N], 0.5, 1.5), q = bf16([B, Hq, D]);
    const kc = bf16([B * pages * pageSize, Hk, D]), vc = bf16([B * pages * pageSize, Hk, D]);
    const meta: PagedAttentionMeta = {
      queryStart: ints([0, 1, 2]), kvLens: ints([kvLen, 1700]), pageTable: ints(Array.from({ length: B * pages }, (_, i) => i), [B, pages]),
      pageSize, maxQueryLen: 1, maxKvLen: kvLen,
    };
    const step = (h: Tensor, n: Tensor, o: Tensor) => {
      backend.linear(h, x, w, null);
      backend.rmsNorm(n, h, normWeight, 1e-6);
      backend.pagedAttention(o, q, kc, vc, meta, { scale: D ** -0.5 });
    };
    const outputs = () => [empty(device, [B, N]), empty(device, [B, N]), empty(device, [B, Hq, D])] as const;
    const graphOut = outputs();
    const graph = captureGraph(backend, () => step(...graphOut));
    for (let round = 0; round < 3; round++) {
      backend.upload(x, bits(randomValues(random, B * K)));
      backend.upload(q, bits(randomValues(random, B * Hq * D)));
      // Tensors drawn now must not get the graph's scratch: fill them, replay, check they kept their fill.
      const bystanders = [B * Hq * 8 * (D + 2), 1000, 70_000].map((n) => empty(device, [n], "F32"));
      for (const t of bystanders) backend.fill(t, 7);
      for (const t of graphOut) backend.fill(t, NaN);
      backend.replay(graph);
      const eager = outputs();
      step(...eager);
      for (let i = 0; i < 3; i++) assert.deepEqual(await host(graphOut[i]), await host(eager[i]), `output ${i}, round ${round}`);
      for (const t of bystanders) assert.ok((await host(t)).every((v) => v === 7), "a bystander was overwritten by the replay");
      for (const t of [...bystanders, ...eager]) t.dispose();
    }
    backend.destroyGraph(graph);
  });

  test("timing marks measure the device's work between them and refuse a capture", async () => {
    const device = cuda(), backend = device.backend as CudaBackend, marks = backend.timingMarks;
    const x = empty(device, [64 << 20], "F32");
    const first = marks.record();
    for (let i = 0; i < 20; i++) backend.fill(x, i + 1); // 5 GiB written: about a millisecond at the H200's bandwidth
    const second = marks.record();
    const third = marks.record();
    assert.ok((await host(x.narrow(0, 4))).every((v) => v === 20), "the fills ran");
    const busy = marks.elapsedMs(first, second), nothing = marks.elapsedMs(second, third);
    assert.ok(busy > 0.3 && busy < 50, `twenty 256 MiB fills took ${busy} ms on the device`);
    assert.ok(nothing >= 0 && nothing < busy / 10, `no work between two marks: ${nothing} ms`);
    for (const m of [first, second, third]) marks.release(m);
    assert.throws(() => marks.elapsedMs(first, second), /no mark/);
    backend.beginCapture();
    try {
      assert.throws(() => marks.record(), /captured/);
    } finally {
      backend.destroyGraph(backend.endCapture());
    }
    x.dispose();
  });
});
