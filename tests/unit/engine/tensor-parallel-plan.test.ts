/**
 * The memory plan per rank under tensor parallelism, on the Scout shape (issue 12: `tpSize: 4`,
 * `contextLength: 65536`): each rank holds a quarter of the decoder and the whole vision model, router and norms, and
 * the KV cache of its 2 of the 8 KV heads; the cache that memFractionStatic leaves on an H200 holds the full context.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { loadModelConfig } from "../../../src/checkpoint/model-config.js";
import { numel } from "../../../src/core/host-tensor.js";
import { resolveCoreOptions } from "../../../src/engine/engine-options.js";
import { kvTokensFromFraction, memoryPlan, rankShape } from "../../../src/engine/memory-plan.js";
import { weightFootprint } from "../../../src/models/weight-footprint.js";
import { isIrisError } from "../../../src/core/errors.js";
import { modelDir } from "../../helpers/fixtures.js";

const modelPath = modelDir("llama4-scout-shape");
const config = loadModelConfig(join(modelPath, "config.json"));
const GiB = 2 ** 30;
/** An H200 as cudaMemGetInfo reports it (about 139.8 GiB), a little already in use. */
const H200 = { totalBytes: 150_129_852_416, freeBytes: 149_500_000_000 };

test("Scout over 4 ranks: a quarter of the decoder per rank, the vision model, router and norms on every rank", () => {
  const whole = weightFootprint(config, 2);
  // Not split: everything outside the decoder, and the decoder's norms and routers.
  const replicated = whole.weights
    .filter((w) => !w.name.startsWith("language_model.") || /norm\.weight$|layernorm\.weight$|\.router\.weight$/.test(w.name))
    .reduce((n, w) => n + numel(w.shape), 0);
  const rank = rankShape(config, 4, 2);
  assert.equal(rank.parameters, replicated + (whole.parameters - replicated) / 4);
  assert.equal(rank.weightBytes, 2 * rank.parameters);
  // 109B parameters: about 27.5B per rank (55 GB in bf16), the vision model's 0.9B on each.
  assert.ok(rank.weightBytes > 54e9 && rank.weightBytes < 56e9, `${rank.weightBytes}`);
  // 8 KV heads over 4 ranks: 2 per rank, 48 layers x K and V x 2 heads x 128 dims x 2 bytes.
  assert.equal(rank.kvHeads, 2);
  assert.equal(rank.kvBytesPerToken, 48 * 2 * 2 * 128 * 2);
});

test("Scout at tpSize 4 with contextLength 65536 on H200s: the per-rank plan and its KV cache", () => {
  const perToken = 48 * 2 * 2 * 128 * 2;
  const tokens = kvTokensFromFraction(config, H200, 0.88, 16, 256 * 65536, "BF16", 4);
  const weights = rankShape(config, 4, 2).weightBytes;
  const pages = Math.floor((H200.totalBytes * 0.88 - (H200.totalBytes - H200.freeBytes) - weights) / (perToken * 16)) - 1;
  assert.equal(tokens, pages * 16);
  // About 66 GiB of cache per rank: over 1.4M tokens, 21 requests at the full 65536 context.
  assert.ok(tokens >= 21 * 65536, `${tokens} tokens`);
  const plan = memoryPlan(config, "cuda:0", tokens, tokens + 16, "BF16", 4);
  assert.equal(plan.kvCacheBytes, (tokens + 16) * perToken);
  assert.equal(plan.weightBytes, weights);
  assert.deepEqual(plan.tensorParallel, { size: 4, kvHeadsPerRank: 2 });
  assert.ok(plan.weightBytes + plan.kvCacheBytes < 0.88 * H200.totalBytes);
  // One rank alone could not hold the weights: the whole model is 217 GB.
  assert.ok(weightFootprint(config, 2).bytes > H200.totalBytes);
  assert.ok(plan.kvCacheBytes / GiB > 60);
});

test("the engine options size each rank's KV cache by its KV heads", () => {
  const one = resolveCoreOptions({ modelPath, contextLength: 65536, kvCacheMemoryMB: 1024 }, config);
  const four = resolveCoreOptions({ modelPath, contextLength: 65536, kvCacheMemoryMB: 1024, tpSize: 4 }, config);
  assert.equal(four.tpSize, 4);
  // The same budget per rank holds 4 times the tokens when a rank caches a quarter of the KV heads.
  assert.equal(four.maxTotalTokens, (Math.floor((1024 * 2 ** 20) / (48 * 2 * 2 * 128 * 4) / 16) - 1) * 16);
  assert.ok(four.maxTotalTokens > 3.9 * one.maxTotalTokens);
});

test("tpSize values Scout cannot be split by are refused with the reason", () => {
  for (const [size, reason] of [[3, /40 attention heads do not divide among 3 ranks/], [16, /40 attention heads do not divide among 16 ranks/],
    [6, /40 attention heads do not divide among 6 ranks/]] as const) {
    assert.throws(() => resolveCoreOptions({ modelPath, tpSize: size }, config), (err) => isIrisError(err, "INVALID_ARGUMENT") && reason.test(err.message));
  }
  // 8 ranks: 5 heads and 1 KV head each.
  assert.equal(rankShape(config, 8, 2).kvHeads, 1);
});
