/**
 * Greedy tokens against the reference: a step counts only while every earlier step agreed, and a mismatch is a
 * failure only where the reference's top-1 margin is above `minMargin` (below it, float32 rounding may pick the
 * runner-up, and everything after legitimately differs).
 */
export function greedyMismatch(actual: readonly number[], expected: readonly number[], margins: ArrayLike<number>,
  minMargin = 1e-3): string | null {
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] === expected[i]) continue;
    if (margins[i] <= minMargin) return null;
    return `step ${i}: got ${actual[i]}, reference ${expected[i]} (margin ${margins[i]})`;
  }
  return null;
}
