/**
 * Parallel sampling (`n`): one prepared prompt becomes n core requests that differ only in rid and seed. The first
 * is submitted alone; the others follow once it has produced its first output, by which point the scheduler has
 * handed its computed prompt pages to the prefix cache, so they reuse that KV instead of prefilling again (SGLang
 * sends a prefill-only request first for the same reason).
 */
import type { CoreRequest } from "./protocol.js";

/**
 * The seed of sample `j` of a request seeded with `seed`: sample 0 keeps the seed (so `n: 1` and `n: 2` agree on the
 * first sample); the others step by the golden-ratio constant so that seed s and seed s + 1 do not share samples.
 */
export function sampleSeed(seed: number, j: number): number {
  return j === 0 ? seed : (seed + Math.imul(j, 0x9e3779b9)) >>> 0;
}

/** The core request of one sample: the prepared prompt under the sample's rid, with its own seed when seeded. */
export function sampleRequest(prepared: CoreRequest, rid: string, j: number): CoreRequest {
  const seed = prepared.sampling.seed;
  if (j === 0 && rid === prepared.rid) return prepared;
  return { ...prepared, rid, sampling: seed === undefined ? prepared.sampling : Object.freeze({ ...prepared.sampling, seed: sampleSeed(seed, j) }) };
}
