/** Timing for the kernel benchmarks. */
import type { Device } from "../src/runtime/device.js";

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Seconds per call after warm-up: the median wall time over at least `minSeconds` and 5 calls, and the process
 * CPU time per call (all threads together). On a shared machine the CPU time is the steadier measure of the code
 * itself (other processes stretch the wall time).
 */
export function time(fn: () => void, minSeconds = 1): { wall: number; cpu: number } {
  for (let i = 0; i < 3; i++) fn();
  const samples: number[] = [];
  const start = performance.now(), cpuStart = cpuSeconds();
  while (performance.now() - start < minSeconds * 1000 || samples.length < 5) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
  }
  const cpu = (cpuSeconds() - cpuStart) / samples.length;
  samples.sort((a, b) => a - b);
  return { wall: samples[Math.floor(samples.length / 2)], cpu };
}

/**
 * Seconds per call of `fn` on `device` (a GPU backend: launches are asynchronous): three warm-up calls, then runs of
 * back-to-back calls, each ended by one synchronize, growing fourfold until one lasts `minSeconds`; intermediates in an
 * arena reset after each call.
 */
export async function secondsPerDeviceCall(device: Device, fn: () => void, minSeconds: number, arenaBytes = 64 << 20): Promise<number> {
  const backend = device.backend;
  const arena = backend.createArena(arenaBytes);
  const run = () => device.inArena(arena, () => {
    fn();
    arena.reset();
  });
  try {
    for (let i = 0; i < 3; i++) run();
    await backend.synchronize();
    for (let calls = 10; ; calls *= 4) {
      const start = performance.now();
      for (let i = 0; i < calls; i++) run();
      await backend.synchronize();
      const seconds = (performance.now() - start) / 1000;
      if (seconds > minSeconds || calls >= 100_000) return seconds / calls;
    }
  } finally {
    arena.destroy();
  }
}
