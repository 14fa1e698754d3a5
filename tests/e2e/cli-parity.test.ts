/**
 * Every reference case of both families, from both checkpoint layouts, through the shipped `iris generate`:
 * the greedy tokens equal the reference at every step whose margin is above 1e-3.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LAYOUTS, loadCases, loadCaseTensors, modelDir, type FixtureModel } from "../helpers/fixtures.js";
import { greedyMismatch } from "../helpers/greedy.js";
import { floats } from "../helpers/numerics.js";
import { CliPool, distIsBuilt } from "../helpers/cli.js";

const GREEDY_FLAGS = ["--temperature", "0", "--max-new-tokens", "12", "--ignore-eos", "--json"];
const pool = new CliPool(2);

for (const family of Object.keys(LAYOUTS) as FixtureModel[]) {
  for (const layout of LAYOUTS[family]) {
    for (const c of loadCases(family)) {
      // Started at once, two processes at a time; each test awaits its own run.
      const run = distIsBuilt()
        ? pool.run(["generate", "--model", modelDir(layout), "--prompt", c.prompt, ...c.imagePaths.flatMap((p) => ["--image", p]), ...GREEDY_FLAGS])
        : null;
      test(`iris generate on ${layout}/${c.name}`, async () => {
        assert.ok(run, "dist/ is missing: run `npm run build` (npm test builds it)");
        const result = await run;
        assert.equal(result.code, 0, result.stderr);
        const lines = result.stdout.trim().split("\n");
        assert.equal(lines.length, 1, "stdout holds one JSON object and nothing else");
        const out = JSON.parse(lines[0]) as { output_ids: number[]; meta_info: { prompt_tokens: number } };
        assert.equal(out.meta_info.prompt_tokens, c.n_prompt_tokens);
        const mismatch = greedyMismatch(out.output_ids, c.greedy_tokens, floats(loadCaseTensors(family, c.name).greedy_margins));
        assert.equal(mismatch, null, mismatch ?? "");
      });
    }
  }
}
