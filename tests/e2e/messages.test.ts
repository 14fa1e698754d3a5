/**
 * Messages that used to mislead: each names the real problem. (URL schemes: tests/unit/multimodal/image-file.test.ts;
 * grids that do not merge evenly: tests/e2e/claims.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { modelConfigFromHF } from "../../src/checkpoint/model-config.js";
import { isIrisError } from "../../src/core/errors.js";
import { Engine } from "../../src/engine/engine.js";
import { runIris } from "../helpers/cli.js";
import { modelDir } from "../helpers/fixtures.js";
import { QWEN } from "../helpers/engine-helpers.js";

test("max_position_embeddings of 0 is a CONFIG_INVALID naming the field", () => {
  const json = JSON.parse(readFileSync(join(modelDir(QWEN), "config.json"), "utf8")) as Record<string, unknown>;
  const text = (json.text_config ?? json) as Record<string, unknown>;
  text.max_position_embeddings = 0;
  assert.throws(() => modelConfigFromHF(json), (e) => isIrisError(e, "CONFIG_INVALID") && /max_position_embeddings must be positive, got 0/.test(e.message));
});

test("a modelPath that names a file says so, not that the directory does not exist", async () => {
  const file = join(modelDir(QWEN), "config.json");
  await assert.rejects(Engine.create({ modelPath: file }), (e) => isIrisError(e, "MODEL_LOAD") && /is a file, not a directory/.test(e.message));
});

test("iris demo --json without --eval is refused, not ignored", async () => {
  const run = await runIris(["demo", "--json"]);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /^iris: INVALID_ARGUMENT: --json is only for --eval/);
});
