/** Timing for the kernel benchmarks. */

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
