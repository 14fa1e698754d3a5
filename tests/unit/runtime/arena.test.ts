/**
 * The step arena: aligned offsets that repeat for the same requests, memory given back by rewind and reset with
 * every storage drawn since then dead (and caught by the kernels' liveness checks), an overflow that still serves
 * the step and grows the block to the peak at the next reset, and the cpu backend's allocator statistics.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { add } from "../../../src/kernels/add.js";
import { CpuBackend } from "../../../src/runtime/cpu/cpu-backend.js";
import { empty, fromHost } from "../../../src/runtime/creation.js";
import { Device } from "../../../src/runtime/device.js";
import { ARENA_ALIGNMENT } from "../../../src/runtime/stack-arena.js";
import { f32 } from "../../../src/runtime/cpu/storage.js";

function setup() {
  const backend = new CpuBackend();
  return { backend, device: new Device("cpu", 0, backend) };
}

test("offsets are aligned and repeat after a reset; rewind gives back what was drawn after the mark", () => {
  const { backend, device } = setup();
  const arena = backend.createArena(4096);
  const draw = () => device.inArena(arena, () => [empty(device, [3]), empty(device, [70], "I32"), empty(device, [1])]);
  const before = arena.usedBytes;
  const first = draw();
  assert.equal(before, 0);
  // 12 bytes, 280 bytes and 4 bytes, each rounded up to the alignment.
  assert.equal(arena.usedBytes, 4 * ARENA_ALIGNMENT);
  const mark = arena.mark();
  const later = device.inArena(arena, () => empty(device, [10]));
  assert.equal(arena.usedBytes, 5 * ARENA_ALIGNMENT);
  arena.rewind(mark);
  assert.equal(later.storage.alive, false);
  assert.equal(first[2].storage.alive, true);
  assert.equal(arena.usedBytes, 4 * ARENA_ALIGNMENT);
  arena.reset();
  assert.equal(arena.usedBytes, 0);
  assert.ok(first.every((t) => !t.storage.alive));
  draw();
  assert.equal(arena.usedBytes, 4 * ARENA_ALIGNMENT);
});

test("a tensor used after its arena memory was given back is refused", async () => {
  const { backend, device } = setup();
  const arena = backend.createArena(4096);
  const kept = fromHost(device, Float32Array.from([1, 2]));
  let scratch = kept;
  device.inArena(arena, () => {
    device.scratch(() => {
      scratch = add(kept, kept);
      assert.deepEqual(Array.from(f32(scratch)), [2, 4]);
    });
  });
  assert.equal(scratch.storage.alive, false);
  assert.throws(() => add(scratch, kept), { code: "INTERNAL" });
  const survivor = device.inArena(arena, () => device.outsideArena(() => empty(device, [2])));
  arena.reset();
  assert.equal(survivor.storage.alive, true, "memory taken outside the arena outlives its reset");
});

test("an overflowing step still runs; the next reset grows the block to the peak", () => {
  const { backend, device } = setup();
  const arena = backend.createArena(1024);
  const tensors = device.inArena(arena, () => [empty(device, [200]), empty(device, [200]), empty(device, [1000])]);
  tensors.forEach((t, i) => backend.fill(t, i + 1));
  assert.deepEqual(tensors.map((t) => Math.max(...f32(t)) + Math.min(...f32(t))), [2, 4, 6], "no two storages share memory");
  // 800 bytes fill the first 1024; the next 1024 and 4096 overflow.
  assert.equal(arena.peakBytes, 1024 + 1024 + 4096);
  arena.reset();
  assert.equal(arena.capacityBytes, 6144);
  const { allocatedBytes } = backend.memoryStats();
  device.inArena(arena, () => [empty(device, [200]), empty(device, [200]), empty(device, [1000])]);
  assert.equal(backend.memoryStats().allocatedBytes, allocatedBytes, "the grown block holds the step");
});

test("the cpu backend counts live, and peak bytes; an arena is one allocation", () => {
  const { backend, device } = setup();
  const t = empty(device, [1000]);
  assert.equal(backend.memoryStats().allocatedBytes, 4000);
  const arena = backend.createArena(10_000);
  assert.equal(backend.memoryStats().allocatedBytes, 4000 + 10_240);
  t.dispose();
  t.dispose();
  arena.destroy();
  assert.equal(backend.memoryStats().allocatedBytes, 0);
  assert.equal(backend.memoryStats().peakAllocatedBytes, 14_240);
});

