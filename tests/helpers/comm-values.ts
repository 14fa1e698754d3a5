/** Values every rank of the communicator tests can recompute for any rank: what sums and gathers are checked against. */
export function valueOf(r: number, i: number): number {
  return ((r + 1) * 0.25 + (i % 1000) * 1e-3) * (i % 2 ? -1 : 1);
}

export type Scenario = "collectives" | "vocab" | "abort" | "timeout" | "barrier";
