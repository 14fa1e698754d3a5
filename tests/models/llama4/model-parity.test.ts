/**
 * Llama 4's decoder against the reference: first logits of every case from the reference image embeddings, and
 * the one_image case's hidden states layer by layer (the trace's `text.hidden_states.N`). Both layouts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toNumbers } from "../../../src/core/host-tensor.js";
import { rmsNorm } from "../../../src/kernels/rms-norm.js";
import { downloadFloat32, empty, fromHost } from "../../../src/runtime/creation.js";
import { getDevice } from "../../../src/runtime/device.js";
import type { Tensor } from "../../../src/runtime/tensor.js";
import type { Llama4 } from "../../../src/models/llama4.js";
import { attentionTemperatures } from "../../../src/models/llama4-temperature.js";
import { buildAttentionBatch, queryScales } from "../../helpers/attention-batch.js";
import { LAYOUTS, loadCases, loadCaseTensors, loadTrace } from "../../helpers/fixtures.js";
import { floats, relativeL2 } from "../../helpers/numerics.js";
import { loadFixtureModel, promptLogits } from "../../helpers/model-harness.js";

const MODEL = "tiny-llama4";
const device = getDevice("cpu");

for (const layout of LAYOUTS[MODEL]) {
  const model = loadFixtureModel(layout).model as Llama4;

  for (const c of loadCases(MODEL)) {
    test(`${layout}/${c.name}: first logits match the reference`, async () => {
      const ref = loadCaseTensors(MODEL, c.name);
      const ids = Int32Array.from(toNumbers(ref.input_ids));
      // The reference's prompt starts with two <|begin_of_text|> (template and tokenizer each add one).
      assert.deepEqual([ids[0], ids[1]], [model.config.text.bosTokenId, model.config.text.bosTokenId]);
      const positions = Int32Array.from(ids.keys());
      const embeds = c.images.length ? fromHost(device, ref.image_embeds) : null;
      if (embeds) assert.equal(ids.filter((id) => id === model.imageTokenId).length, embeds.shape[0]);
      const logits = await downloadFloat32(promptLogits(model, ids, positions, embeds));
      const error = relativeL2(logits, floats(ref.first_logits));
      console.log(`${layout}/${c.name} (${ids.length} tokens): logits relative error ${error.toExponential(2)}`);
      assert.ok(error < 1e-3, `logits relative error ${error}`);
    });
  }

  test(`${layout}/one_image: every decoder layer's hidden states match the trace`, async () => {
    const trace = loadTrace(MODEL);
    const ref = loadCaseTensors(MODEL, "one_image");
    const text = model.config.text;
    const ids = Int32Array.from(toNumbers(ref.input_ids));
    const L = ids.length;
    const pageSize = 16;
    const pages = Array.from({ length: Math.ceil(L / pageSize) }, (_, i) => i);
    const caches = Array.from({ length: text.numLayers }, () => ({
      k: empty(device, [pages.length * pageSize, text.numKvHeads, text.headDim]),
      v: empty(device, [pages.length * pageSize, text.numKvHeads, text.headDim]),
    }));
    const attention = buildAttentionBatch(device, caches, pageSize, [{ queryCount: L, kvLen: L, pages, slots: Int32Array.from(ids.keys()) }]);
    const imageRows = Int32Array.from([...ids.keys()].filter((i) => ids[i] === model.imageTokenId));
    // Read each stage when it is observed: the model updates its residual stream in place.
    const finalNorm = model.parameters.all().find((p) => p.name === "language_model.model.norm.weight")!.tensor;
    const states = new Map<string, Promise<Float32Array>>();
    const observe = (stage: string, x: Tensor) => {
      // The reference's last hidden state is the final norm's output.
      const last = stage === `hidden_states.${text.numLayers}`;
      states.set(stage, downloadFloat32(last ? rmsNorm(x, finalNorm, text.rmsNormEps) : x));
    };
    model.forward({
      inputIds: fromHost(device, ids, { dtype: "I32" }),
      positions: fromHost(device, Int32Array.from(ids.keys()), { dtype: "I32", shape: [L, 1] }),
      queryScales: queryScales(device, model, Int32Array.from(ids.keys())),
      images: { rows: fromHost(device, imageRows, { dtype: "I32" }), embeddings: fromHost(device, ref.image_embeds) },
      attention,
      logitRows: fromHost(device, Int32Array.from([L - 1]), { dtype: "I32" }),
    }, observe);
    assert.equal(states.size, text.numLayers + 1);
    for (let n = 0; n <= text.numLayers; n++) {
      const error = relativeL2(await states.get(`hidden_states.${n}`)!, floats(trace[`text.hidden_states.${n}`]));
      console.log(`${layout} text.hidden_states.${n}: relative error ${error.toExponential(2)}`);
      assert.ok(error < 1e-5, `text.hidden_states.${n}: relative error ${error}`);
    }
  });
}

test("the attention temperature is 1 below floor_scale - 1 and grows with ln(1 + floor((p + 1) / floor_scale))", () => {
  const scales = attentionTemperatures(Int32Array.from([0, 14, 15, 16, 31, 742]), 0.1, 16);
  assert.deepEqual(Array.from(scales.slice(0, 2)), [1, 1]);
  const expected = [1 + 0.1 * Math.log(2), 1 + 0.1 * Math.log(2), 1 + 0.1 * Math.log(3), 1 + 0.1 * Math.log(47)];
  scales.slice(2).forEach((s, i) => assert.ok(Math.abs(s - expected[i]) < 1e-6, `${s} vs ${expected[i]}`));
});
