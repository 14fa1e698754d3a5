/**
 * Which scene seeds are for training and which are held out for evaluation. The two ranges are disjoint:
 * training seeds are [0, 2^31), held-out seeds are [2^31, 2^32). The training script and Iris's own checks
 * score the demo model only on held-out seeds, so a score never measures memorised pictures.
 */

export const HELD_OUT_SEED_START = 0x80000000;
/** One past the largest seed (seeds are 32-bit unsigned integers). */
export const SEED_LIMIT = 0x100000000;

export type SeedSplit = "training" | "held-out";

export function isHeldOutSeed(seed: number): boolean {
  return seed >= HELD_OUT_SEED_START;
}

/** The first `count` training seeds from `start` (default 0). */
export function trainingSeeds(count: number, start = 0): number[] {
  return seedRange(start, count, "training");
}

/** `count` held-out seeds, starting `offset` seeds into the held-out range. */
export function heldOutSeeds(count: number, offset = 0): number[] {
  return seedRange(HELD_OUT_SEED_START + offset, count, "held-out");
}

/**
 * The split of the consecutive seeds [start, start + count); throws when they leave [0, 2^32) or mix the two
 * splits (a data set must be all training or all held-out).
 */
export function splitOfRange(start: number, count: number): SeedSplit {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > SEED_LIMIT) {
    throw new RangeError(`seeds [${start}, ${start + count}) are not a non-empty range inside [0, 2^32)`);
  }
  const first = isHeldOutSeed(start) ? "held-out" : "training";
  const last = isHeldOutSeed(start + count - 1) ? "held-out" : "training";
  if (first !== last) {
    throw new RangeError(
      `seeds [${start}, ${start + count}) mix training and held-out seeds (held-out starts at ${HELD_OUT_SEED_START})`,
    );
  }
  return first;
}

function seedRange(start: number, count: number, expected: SeedSplit): number[] {
  const split = splitOfRange(start, count);
  if (split !== expected) throw new RangeError(`seeds [${start}, ${start + count}) are ${split} seeds, not ${expected}`);
  return Array.from({ length: count }, (_, i) => start + i);
}
