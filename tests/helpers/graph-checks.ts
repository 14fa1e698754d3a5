/**
 * Decode graphs checked the same way on the cpu (CUDA-graph semantics emulated) and on cuda (real graphs): requests
 * join and leave so batches of 1 to 5 sequences are padded to buckets 1, 2, 4 and 8, greedy and sampled requests
 * mixed, KV lengths growing past page boundaries; the tokens must equal an eager run's.
 */
import assert from "node:assert/strict";
import type { Backend } from "../../src/runtime/backend.js";
import { StepHarness } from "./step-harness.js";

function prompt(length: number, seed: number): Int32Array {
  let state = seed;
  return Int32Array.from({ length }, () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) % 200);
}

export interface GraphRun {
  readonly outputs: Map<string, number[]>;
  /** Kernel calls of the last decode step of five sequences (a replay is a handful). */
  readonly kernelCallsAtFive: number;
  readonly generalAllocationsAtFive: number;
}

/** Five requests admitted two steps apart, with different lengths: batch sizes rise to 5 and fall back to 1. */
export async function runStaggered(modelPath: string, backend: Backend | undefined, graphBuckets: readonly number[] | undefined): Promise<GraphRun> {
  const h = new StepHarness(modelPath, { backend, graphBuckets });
  for (let i = 0; i < 5; i++) {
    const sampling = i % 2 === 0 ? { temperature: 0 } : { temperature: 0.9, topK: 30, topP: 0.95 };
    h.add({ id: `r${i}`, inputIds: prompt(9 + 4 * i, i + 1), maxNewTokens: 14 + 5 * i, sampling });
    await h.step();
    await h.step();
  }
  // Steps of five decodes (the last request's prefill is done): the third one is measured.
  for (let i = 0; i < 2; i++) await h.step();
  h.counter.reset();
  const { decodes } = await h.step();
  assert.equal(decodes, 5);
  const kernelCallsAtFive = h.counter.kernelCalls(), generalAllocationsAtFive = h.counter.generalAllocations;
  await h.runToCompletion();
  assert.equal(h.outputs.size, 5);
  return { outputs: h.outputs, kernelCallsAtFive, generalAllocationsAtFive };
}

export function assertSameOutputs(graphed: GraphRun, eager: GraphRun): void {
  for (const [rid, tokens] of eager.outputs) assert.deepEqual(graphed.outputs.get(rid), tokens, `request ${rid}`);
}
