/**
 * CUDA graphs of the decode step, one per batch-size bucket (SGLang's cuda_graph_bs): a step of B one-token
 * sequences is padded to the smallest bucket that holds it and its forward pass, from the persistent inputs to the
 * logits, is replayed with one call instead of hundreds of kernel launches. A bucket's graph is captured the first
 * time the bucket runs: that step runs eagerly in the bucket's own arena (which sizes the arena to the step's peak),
 * then the same forward is captured over it and the arena is never reset again, so the graph's intermediates keep
 * their addresses for as long as the graph lives. Memory goes only to buckets a workload uses.
 */
import type { Arena, GraphCapture } from "../runtime/backend.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import type { StepClock } from "./step-clock.js";

/** SGLang's default buckets: 1, 2, 4, 8, then every multiple of 8 up to `maxBatchSize`. */
export function defaultGraphBuckets(maxBatchSize: number): number[] {
  const buckets = [1, 2, 4, 8].filter((b) => b <= maxBatchSize);
  for (let b = 16; b <= maxBatchSize; b += 8) buckets.push(b);
  if (buckets.length === 0 || buckets[buckets.length - 1] < maxBatchSize) buckets.push(maxBatchSize);
  return buckets;
}

interface CapturedGraph {
  readonly id: number;
  readonly arena: Arena;
  /** The logits the replays write: memory of the graph's arena. */
  readonly logits: Tensor;
  /** The inputs' layout the graph was captured over (see `run`). */
  readonly generation: number;
}

/** The first size of a bucket's arena; its eager run grows it to the step's peak before the capture. */
const INITIAL_ARENA_BYTES = 1 << 20;

export class DecodeGraphs {
  private readonly graphs = new Map<number, CapturedGraph>();
  /** A bucket that ran eagerly this step, captured once the step's other kernels are enqueued. */
  private pending: { bucket: number; generation: number; arena: Arena; forward: () => Tensor } | null = null;
  readonly buckets: readonly number[];

  constructor(private readonly device: Device, private readonly capture: GraphCapture, buckets: readonly number[]) {
    this.buckets = [...new Set(buckets)].sort((a, b) => a - b);
  }

  /** The smallest bucket holding `sequences`, or null when the step is larger than every bucket (it runs eagerly). */
  bucketFor(sequences: number): number | null {
    return this.buckets.find((b) => b >= sequences) ?? null;
  }

  /**
   * The logits of `forward` for `bucket`: the bucket's graph replayed, or, the first time (or when the inputs'
   * layout changed, say a page table that grew: `generation`), `forward` run eagerly with a capture to follow.
   * A step clock times the replay on its own.
   */
  run(bucket: number, generation: number, forward: () => Tensor, clock: StepClock | null = null): Tensor {
    const graph = this.graphs.get(bucket);
    if (graph !== undefined && graph.generation === generation) {
      if (clock === null) this.capture.replay(graph.id);
      else clock.replay(() => this.capture.replay(graph.id));
      return graph.logits;
    }
    if (graph !== undefined) this.drop(bucket);
    const arena = this.device.backend.createArena(INITIAL_ARENA_BYTES);
    const logits = this.device.inArena(arena, forward);
    this.pending = { bucket, generation, arena, forward };
    return logits;
  }

  /**
   * Captures the bucket that ran eagerly this step. Called after the step's sampling is enqueued: the eager logits
   * are read by then (in stream order), so the arena may be reset and grown to the peak the eager run reached.
   */
  capturePending(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    const { arena } = pending;
    arena.reset();
    this.capture.begin();
    let logits: Tensor;
    let id: number;
    try {
      logits = this.device.inArena(arena, pending.forward);
    } finally {
      id = this.capture.end();
    }
    this.graphs.set(pending.bucket, { id, arena, logits, generation: pending.generation });
  }

  /** How many graphs are captured (for tests and the engine's info). */
  get captured(): number {
    return this.graphs.size;
  }

  dispose(): void {
    for (const bucket of [...this.graphs.keys()]) this.drop(bucket);
    this.pending?.arena.destroy();
    this.pending = null;
  }

  private drop(bucket: number): void {
    const graph = this.graphs.get(bucket)!;
    this.graphs.delete(bucket);
    this.capture.destroy(graph.id);
    graph.arena.destroy();
  }
}
