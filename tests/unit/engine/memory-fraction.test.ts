/**
 * The KV cache on a GPU sized by memFractionStatic (SGLang's meaning): weights and cache share the fraction, the
 * memory already in use counts against it, whole pages less the padding page, at most what the requests can use;
 * OUT_OF_MEMORY when the weights leave no room.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { kvBytesPerToken } from "../../../src/checkpoint/decoder-config.js";
import { loadModelConfig } from "../../../src/checkpoint/model-config.js";
import { isIrisError } from "../../../src/core/errors.js";
import { kvTokensFromFraction } from "../../../src/engine/memory-plan.js";
import { weightFootprint } from "../../../src/models/weight-footprint.js";
import { modelDir } from "../../helpers/fixtures.js";

const config = loadModelConfig(`${modelDir("qwen2_5-vl-3b-shape")}/config.json`);
const GiB = 2 ** 30;

test("the KV cache takes what the weights and the memory in use leave of the fraction", () => {
  const memory = { totalBytes: 140 * GiB, freeBytes: 139 * GiB };
  const tokens = kvTokensFromFraction(config, memory, 0.88, 16, 10_000_000, "BF16");
  const weights = weightFootprint(config, 2).bytes, perToken = kvBytesPerToken(config.text, 2);
  const expected = (Math.floor((140 * GiB * 0.88 - GiB - weights) / perToken / 16) - 1) * 16;
  assert.equal(tokens, expected);
  assert.ok(tokens > 3_000_000, `${tokens} tokens: 3B Qwen2.5-VL keeps 36 KiB a token in bf16`);
  assert.equal(kvTokensFromFraction(config, memory, 0.88, 16, 5000, "BF16"), 5000, "no more than the requests can use");
});

test("weights that do not fit the fraction are OUT_OF_MEMORY before anything is allocated", () => {
  assert.throws(() => kvTokensFromFraction(config, { totalBytes: 8 * GiB, freeBytes: 8 * GiB }, 0.5, 16, 1000, "BF16"),
    (err: unknown) => isIrisError(err) && err.code === "OUT_OF_MEMORY" && /memFractionStatic 0.5/.test(err.message));
});
