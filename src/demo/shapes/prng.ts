/**
 * A small seeded pseudo-random generator (mulberry32) for the shapes scenes.
 *
 * NOTE: determinism across machines is the point. The state update uses only 32-bit integer operations
 * (Math.imul, shifts, xor), which every JavaScript engine computes identically, and floats are derived from the
 * integers by one exact division. Never use Math.random here.
 */

/** 2^32, the number of distinct 32-bit outputs. */
const UINT32_RANGE = 4294967296;

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next 32-bit unsigned integer of the stream. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / UINT32_RANGE;
  }

  /** Uniform integer in [0, n). The bias of this mapping is below 2^-32 * n: irrelevant for scene sampling. */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Uniform integer in [lo, hi], both ends included. */
  intBetween(lo: number, hi: number): number {
    return lo + this.nextInt(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.nextInt(items.length)];
  }
}

/**
 * Derives the seed of an independent stream (scene layout, pixel noise, question choice) from a scene seed,
 * so that e.g. changing how many noise values are drawn never changes a layout. A murmur3-style finalizer:
 * consecutive scene seeds give unrelated streams.
 */
export function streamSeed(sceneSeed: number, stream: number): number {
  let h = (sceneSeed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
