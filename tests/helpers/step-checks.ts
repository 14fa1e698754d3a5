/**
 * Checks of the runner's seam shared by the cpu tests and the cuda tests: a warmed-up decode step allocates nothing
 * and repeats its arena offsets; a thousand requests with images leave the allocator where it was.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { hostTensor } from "../../src/core/host-tensor.js";
import type { LogprobSpec } from "../../src/core/logprobs.js";
import type { Backend, MemoryStats } from "../../src/runtime/backend.js";
import { loadCaseTensors, modelDir } from "./fixtures.js";
import { StepHarness } from "./step-harness.js";

export const DEMO_MODEL = fileURLToPath(new URL("../../models/shapes-vlm", import.meta.url));

function randomPrompt(length: number, vocab: number, seed: number): Int32Array {
  let state = seed;
  return Int32Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return (state >>> 8) % Math.min(vocab, 300);
  });
}

/**
 * `logprobs`: every request asks for them, so each step computes and reads them back too. `allowed`: requests
 * 0 and 2 follow a grammar whose mask allows only these tokens (their outputs are checked to stay in it).
 */
export async function decodeStepsAreStable(modelPath: string, sampling: object, backend?: Backend, logprobs?: LogprobSpec,
  allowed?: readonly number[]): Promise<void> {
  const h = new StepHarness(modelPath, { backend });
  const mask = allowed && maskOf(allowed, h.vocabSize);
  for (let i = 0; i < 4; i++) {
    const constrained = mask !== undefined && i % 2 === 0;
    h.add({
      id: `r${i}`, inputIds: randomPrompt(20 + 3 * i, h.vocabSize, i + 1), maxNewTokens: 30, logprobs,
      sampling: constrained ? { ...sampling, regex: "(set by tokenMask)", ignoreEos: false } : sampling, ...(constrained && { tokenMask: mask }),
    });
  }
  // Prefill, then two decode steps to warm up.
  let warm = 0;
  while (warm < 2) if ((await h.step()).prefillTokens === 0) warm++;
  const traces = [];
  for (let step = 0; step < 2; step++) {
    h.counter.reset();
    const { decodes, prefillTokens } = await h.step();
    assert.equal(decodes, 4);
    assert.equal(prefillTokens, 0);
    assert.equal(h.counter.generalAllocations, 0, `decode step ${step} allocated from the general allocator`);
    assert.equal(h.counter.uploadsIntoNewStorage, 0, `decode step ${step} uploaded into fresh buffers`);
    assert.ok(h.counter.uploads > 0, "the step's inputs are uploaded (into persistent buffers)");
    if (logprobs === undefined) assert.equal(h.counter.downloads, 1, "one download per step: the sampled tokens");
    else assert.equal(h.counter.downloads, 3, "the sampled tokens, then the logprob values and the top ids");
    assert.ok(h.counter.arenaAllocations.length > 10, "the step's intermediates come from the arena");
    traces.push(h.counter.arenaAllocations);
  }
  assert.deepEqual(traces[1], traces[0], "two decode steps of one batch size draw the same arena offsets");
  await h.runToCompletion();
  assert.equal(h.outputs.size, 4);
  for (const out of h.outputs.values()) assert.equal(out.length, 30);
  if (allowed) {
    for (const id of ["r0", "r2"]) assert.ok(h.outputs.get(id)!.every((t) => allowed.includes(t)), `${id} sampled only allowed tokens`);
    assert.ok(!h.outputs.get("r1")!.every((t) => allowed.includes(t)), "r1 has no grammar and samples outside the allowed set");
  }
}

/** A structured-output bitmask allowing exactly `allowed` (bit t & 31 of word t >> 5). */
export function maskOf(allowed: readonly number[], vocab: number): Int32Array {
  const words = new Int32Array(Math.ceil(vocab / 32));
  for (const t of allowed) words[t >> 5] |= 1 << (t & 31);
  return words;
}

/**
 * 1,000 requests with images after two warm-up waves of 50; returns the allocator's statistics after the warm-up and
 * at the end, both taken with the embedding cache flushed.
 */
export async function thousandRequests(backend?: Backend): Promise<{ start: MemoryStats; end: MemoryStats }> {
  const ref = loadCaseTensors("tiny-qwen2_5-vl", "one_image");
  const inputIds = Int32Array.from(ref.input_ids.data as BigInt64Array, Number);
  const grid = Array.from(ref.image_grid_thw.data as BigInt64Array, Number);
  const pixels = { kind: "pixels" as const, pixelValues: hostTensor("F16", ref.pixel_values.shape, ref.pixel_values.data as Uint16Array), imageGrids: [grid] };
  const embeddings = { kind: "embeddings" as const, embeddings: ref.image_embeds };
  // A small embedding cache, so entries are evicted while requests still hold them.
  const h = new StepHarness(modelDir("tiny-qwen2_5-vl"), { embeddingCacheBytes: 64 * 1024, numPages: 1024, backend });
  const stats = () => h.device.backend.memoryStats();
  let next = 0;
  const wave = async (count: number) => {
    for (let i = 0; i < count; i++, next++) {
      // 40 distinct pictures by key: later requests hit the cache, evictions happen under load.
      // Every 25th runs the vision tower (in the arena); the others bring precomputed embeddings (the cpu tower is slow).
      const mm = next % 25 === 0 ? pixels : embeddings;
      h.add({ id: `q${next}`, inputIds, mm, imageKeys: [next % 40], maxNewTokens: 2 });
    }
    await h.runToCompletion();
  };
  // Two waves to warm up: the step arena grows to the largest step's peak once (a measured size, not a leak).
  await wave(50);
  await wave(50);
  h.runner.flushEmbeddingCache();
  const start = stats();
  for (let w = 0; w < 20; w++) await wave(50);
  assert.equal(h.outputs.size, 1100);
  h.runner.flushEmbeddingCache();
  return { start, end: stats() };
}
