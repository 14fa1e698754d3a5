/** The small statistics of bench/serve-load.ts: what one request's outcome records, percentiles and a drift slope. */

export type Kind = "plain" | "stream" | "cancel" | "broken";

export interface LoadOutcome {
  readonly kind: Kind;
  /** The HTTP status; 0 when no response came (a hang or a transport error). */
  readonly status: number;
  /** The error code of a non-200 answer. */
  readonly code?: string;
  /** Whether the answer equals the offline engine's greedy answer (undefined: no whole answer was read). */
  readonly ok?: boolean;
  readonly cancelled?: boolean;
  readonly ttftMs?: number;
  readonly ms: number;
  readonly error?: string;
}

/** The p-th percentile (nearest rank), in milliseconds rounded to 0.1. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank] * 10) / 10;
}

/** The least-squares slope of y over x, per `per` units of x (one noisy sample does not decide it). */
export function slopePer(x: readonly number[], y: readonly number[], per: number): number {
  if (x.length < 2) return 0;
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : (sxy / sxx) * per;
}
