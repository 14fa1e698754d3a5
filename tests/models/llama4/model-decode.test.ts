/**
 * Greedy decoding of every Llama 4 case through the paged cache against the reference's greedy tokens: the prompt
 * prefilled in pieces (chunked prefill whose pieces start inside an attention chunk and inside a page), then one
 * token per step. Pages of 20 slots put the attention chunk boundaries (every 48 positions) inside pages.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toNumbers } from "../../../src/core/host-tensor.js";
import { fromHost } from "../../../src/runtime/creation.js";
import { getDevice } from "../../../src/runtime/device.js";
import { LAYOUTS, loadCases, loadCaseTensors } from "../../helpers/fixtures.js";
import { greedyDecode } from "../../helpers/greedy-decode.js";
import { floats, relativeL2 } from "../../helpers/numerics.js";
import { loadFixtureModel } from "../../helpers/model-harness.js";

const MODEL = "tiny-llama4";
/** Steps closer than this are too close to call for a float32 implementation (fixtures README). */
const MIN_MARGIN = 1e-3;

for (const layout of LAYOUTS[MODEL]) {
  const { model } = loadFixtureModel(layout);

  for (const c of loadCases(MODEL)) {
    test(`${layout}/${c.name}: 12 greedy steps through the paged cache give the reference tokens`, async () => {
      const ref = loadCaseTensors(MODEL, c.name);
      const ids = Int32Array.from(toNumbers(ref.input_ids));
      const expected = toNumbers(ref.greedy_tokens);
      const margins = floats(ref.greedy_margins);
      const embeds = c.images.length ? fromHost(getDevice("cpu"), ref.image_embeds) : null;
      const steps = await greedyDecode(model, ids, Int32Array.from(ids.keys()), embeds, {
        steps: expected.length,
        pageSize: 20,
        prefillChunk: 100,
        // Feed the reference's token, so a step too close to call cannot move the later steps off its path.
        feed: (step) => expected[step],
      });
      const prefillError = relativeL2(steps[0].logits, floats(ref.first_logits));
      assert.ok(prefillError < 1e-3, `logits after the chunked prefill: relative error ${prefillError}`);
      const tokens = steps.map((s) => s.token);
      console.log(`${layout}/${c.name}: ${tokens.join(" ")} (reference ${expected.join(" ")}); prefill logits ${prefillError.toExponential(2)}`);
      let compared = 0;
      expected.forEach((token, i) => {
        if (margins[i] <= MIN_MARGIN) return;
        assert.equal(tokens[i], token, `step ${i} (margin ${margins[i]})`);
        compared++;
      });
      assert.ok(compared >= expected.length - 2, `only ${compared} steps had a margin above ${MIN_MARGIN}`);
    });
  }
}
