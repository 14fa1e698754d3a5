/**
 * `iris generate --json-schema FILE`: the output follows the schema and equals the API's with the same parameters;
 * a schema file that is missing or not JSON fails with a message that names it.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_MODEL_DIR } from "../../src/demo/demo-model.js";
import { Engine } from "../../src/engine/engine.js";
import type { GenerateResult } from "../../src/core/request.js";
import { runIris } from "../helpers/cli.js";
import { SHAPE_SCHEMA, assertValidShapes } from "../helpers/structured.js";

describe("iris generate --json-schema", () => {
  let dir: string;
  let schemaFile: string;
  let engine: Engine;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "iris-cli-schema-"));
    schemaFile = join(dir, "shape.schema.json");
    writeFileSync(schemaFile, JSON.stringify(SHAPE_SCHEMA, null, 2));
    engine = await Engine.create({ modelPath: DEMO_MODEL_DIR });
  });
  after(async () => {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the output validates and is the API's for the same schema and seed", async () => {
    const run = await runIris(["generate", "--model", DEMO_MODEL_DIR, "--prompt", "Describe it as JSON.", "--json-schema", schemaFile,
      "--temperature", "1", "--seed", "4", "--max-new-tokens", "120", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const cli = JSON.parse(run.stdout) as { text: string; output_ids: number[] };
    const api = await engine.generate({
      prompt: "Describe it as JSON.",
      samplingParams: { temperature: 1, samplingSeed: 4, maxNewTokens: 120, jsonSchema: JSON.stringify(SHAPE_SCHEMA, null, 2) },
    }) as GenerateResult;
    assertValidShapes([api], "api");
    assert.deepEqual(cli.output_ids, api.outputIds);
    assert.equal(cli.text, api.text);
  });

  test("a missing or broken schema file is named in the error", async () => {
    const missing = await runIris(["generate", "--model", DEMO_MODEL_DIR, "--prompt", "x", "--json-schema", join(dir, "nope.json")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--json-schema: cannot read .*nope\.json/);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ \"type\": ");
    const run = await runIris(["generate", "--model", DEMO_MODEL_DIR, "--prompt", "x", "--json-schema", broken]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /invalid jsonSchema: it is not JSON text/);
  });
});
