// The cuda backend's memory: transfers, the caching allocator's statistics and the step arena.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { empty, fromHost } from "../../src/runtime/creation.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import { Tensor } from "../../src/runtime/tensor.js";
import { cuda, host, rng, skipCuda } from "./harness.js";

describe("cuda memory", { skip: skipCuda }, () => {
  const backend = () => cuda().backend as CudaBackend;

  test("upload and download round-trip F32, BF16 bits and I32, at offsets", async () => {
    const random = rng(7);
    const f = Float32Array.from({ length: 10_000 }, () => random() * 200 - 100);
    const t = fromHost(cuda(), f, { dtype: "F32" });
    assert.deepEqual(await host(t), f);
    assert.deepEqual(await host(t.narrow(4000, 17)), f.subarray(4000, 4017));
    const bits = Uint16Array.from({ length: 513 }, (_, i) => (i * 37) & 0x7f7f);
    const b = fromHost(cuda(), { dtype: "BF16", shape: [513], data: bits }, { dtype: "BF16" });
    const widened = new Float32Array(new Uint32Array(Array.from(bits, (x) => x << 16)).buffer);
    assert.deepEqual(await host(b), widened);
    const ints = Int32Array.from({ length: 3 << 20 }, (_, i) => i * 3 - 5); // 12 MiB
    assert.deepEqual(await host(fromHost(cuda(), ints, { dtype: "I32" })), ints);
  });

  test("uploads through the pinned ring: many small ones behind slow kernels, wrapping it, and one larger than it", async () => {
    const random = rng(11);
    // Kernels queued ahead keep the GPU behind the host, so the ring fills and wraps while copies are pending.
    const busy = empty(cuda(), [1 << 24], "F32");
    const uploads: { tensor: Tensor; data: Float32Array }[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 0) backend().fillUniform(busy, i, -1, 1);
      const data = Float32Array.from({ length: 1 + Math.floor(random() * 300_000) }, () => random()); // up to 1.2 MB
      uploads.push({ tensor: fromHost(cuda(), data, { dtype: "F32" }), data });
    }
    const large = Int32Array.from({ length: 40 << 20 }, (_, i) => (i * 7919) ^ (i >> 3)); // 160 MiB: 2.5 rings
    const largeTensor = fromHost(cuda(), large, { dtype: "I32" });
    for (const [i, { tensor, data }] of uploads.entries()) assert.deepEqual(await host(tensor), data, `upload ${i}`);
    assert.deepEqual(await host(largeTensor), large);
  });

  test("released blocks are reused: reserved bytes stay flat over many steps", () => {
    const before = backend().memoryStats();
    for (let step = 0; step < 200; step++) {
      const tensors = [1000, 4096, 70_000, 3 << 20].map((n) => empty(cuda(), [n]));
      for (const t of tensors) t.dispose();
    }
    const first = backend().memoryStats();
    for (let step = 0; step < 1000; step++) {
      const tensors = [1000, 4096, 70_000, 3 << 20].map((n) => empty(cuda(), [n]));
      for (const t of tensors) t.dispose();
    }
    const after = backend().memoryStats();
    assert.equal(after.reservedBytes, first.reservedBytes);
    assert.equal(after.allocatedBytes, before.allocatedBytes);
    assert.ok(after.peakAllocatedBytes >= before.allocatedBytes + 6_000_000);
  });

  test("an arena hands out aligned slices, kills them on reset, overflows into a block of its own and grows to the peak", async () => {
    const arena = backend().createArena(1 << 20);
    const a = new Tensor(cuda(), arena.allocate("BF16", 100), [100]);
    const b = new Tensor(cuda(), arena.allocate("F32", 10), [10]);
    assert.equal(arena.usedBytes, 256 + 256);
    cuda().backend.fill(a, 2);
    cuda().backend.fill(b, 3);
    const big = new Tensor(cuda(), arena.allocate("F32", 1 << 20), [1 << 20]);
    cuda().backend.fill(big, 4);
    assert.ok((await host(a)).every((v) => v === 2));
    assert.ok((await host(b)).every((v) => v === 3));
    assert.ok((await host(big)).every((v) => v === 4), "the overflow block is memory of its own");
    arena.reset();
    assert.equal(a.storage.alive, false);
    assert.equal(big.storage.alive, false);
    assert.throws(() => cuda().backend.fill(a, 1), /after its storage was released/);
    assert.equal(arena.capacityBytes, 512 + 4 * (1 << 20), "the block grew to the step's peak");
    const address = (s: unknown) => (s as { ptr: number }).ptr;
    const first = address(arena.allocate("BF16", 100));
    arena.reset();
    assert.equal(address(arena.allocate("BF16", 100)), first, "the same requests get the same addresses");
    arena.destroy();
  });
});
