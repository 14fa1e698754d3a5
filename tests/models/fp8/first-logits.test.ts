/**
 * FP8 accuracy on the fixtures: every case's first logits with `quantization: "fp8"` (the decoder's projections and
 * experts in E4M3 with per-channel scales, activations quantized per token) against the reference, on the cpu backend
 * whose FP8 kernels define the math the GPU's compute.
 *
 * Measured (relative L2 to the reference first_logits; the float path is at 4e-7 to 2e-6 on the same cases):
 *   tiny-qwen2_5-vl  one_image 0.213, two_images 0.120, text_only 0.142
 *   tiny-llama4      one_image 0.0973, wide_image 0.0971, text_only 0.191
 *   tiny-llama4 over 2 ranks (tensor parallelism; images through the float vision model) 0.122, 0.0993, 0.247
 * Why so large: these random-weight models amplify perturbations (their greedy margins are 1e-3 to 8e-3), and E4M3
 * rounds every weight and activation by up to 2^-4 relative (about 3% rms) in each of 16 products (4 layers x
 * qkv, o, gate|up, down). The bound 0.3 leaves 40% above the worst case measured, and still catches the bugs
 * tried while writing this test: every product's scale 1.5 times too large gave 0.42 (Llama 4) and 1.09 (Qwen), the
 * last row of each matrix left unquantized 1.3. The lower bound shows the FP8 path really ran; both layouts of a
 * model load the same weights and must agree exactly.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { toNumbers } from "../../../src/core/host-tensor.js";
import { downloadFloat32, fromHost } from "../../../src/runtime/creation.js";
import { getDevice } from "../../../src/runtime/device.js";
import { LAYOUTS, loadCases, loadCaseTensors, type FixtureModel } from "../../helpers/fixtures.js";
import { floats, relativeL2 } from "../../helpers/numerics.js";
import { loadFixtureModel, promptLogits } from "../../helpers/model-harness.js";
import { runRanks } from "../../helpers/tp-ranks.js";

const device = getDevice("cpu");
const BOUND = 0.3;

/** Positions as the model takes them: Qwen's M-RoPE rows from the fixture, Llama 4's plain indices. */
function positionsOf(model: FixtureModel, ref: ReturnType<typeof loadCaseTensors>, L: number): Int32Array {
  if (model === "tiny-llama4") return Int32Array.from({ length: L }, (_, i) => i);
  const pos = toNumbers(ref.position_ids);
  return Int32Array.from({ length: L * 3 }, (_, i) => pos[(i % 3) * L + Math.floor(i / 3)]);
}

for (const family of ["tiny-qwen2_5-vl", "tiny-llama4"] as const) {
  test(`${family}: FP8 first logits of every case within ${BOUND} of the reference, the same in both layouts`, async () => {
    const errors = new Map<string, number>();
    for (const layout of LAYOUTS[family]) {
      const { model } = loadFixtureModel(layout, device, undefined, "fp8");
      for (const c of loadCases(family)) {
        const ref = loadCaseTensors(family, c.name);
        const ids = Int32Array.from(toNumbers(ref.input_ids));
        // The decoder alone, from the reference image embeddings (the vision encoder stays float).
        const embeds = c.images.length ? fromHost(device, ref.image_embeds) : null;
        const logits = await downloadFloat32(promptLogits(model, ids, positionsOf(family, ref, ids.length), embeds));
        const error = relativeL2(logits, floats(ref.first_logits));
        console.log(`${layout}/${c.name}: FP8 first-logit relative error ${error.toFixed(4)}`);
        assert.ok(error > 0.02 && error < BOUND, `${layout}/${c.name}: FP8 relative error ${error}`);
        const other = errors.get(c.name);
        if (other !== undefined) assert.equal(error, other, `${c.name}: the two layouts differ`);
        errors.set(c.name, error);
      }
    }
  });
}

test("tiny-llama4 over 2 ranks in FP8: every case's first logits within the same bound, each rank's the same", async () => {
  // Column-parallel shards (q|k|v, gate|up, the experts' gate|up columns) keep the whole model's row scales;
  // row-parallel ones (o, down, the experts' down) scale each rank's half of a row on its own, a different but equally
  // fine quantization, so the logits stay within the FP8 bound rather than matching tpSize 1.
  const family = "tiny-llama4";
  const ranks = await runRanks(family, LAYOUTS[family][0], 2, "fp8");
  loadCases(family).forEach((c, i) => {
    const reference = floats(loadCaseTensors(family, c.name).first_logits);
    const error = relativeL2(ranks[0].runs[i].firstLogits, reference);
    console.log(`tiny-llama4/${c.name} over 2 ranks: FP8 first-logit relative error ${error.toFixed(4)}`);
    assert.ok(error > 0.02 && error < BOUND, `${c.name}: ${error}`);
    assert.deepEqual(ranks[1].runs[i].firstLogits, ranks[0].runs[i].firstLogits, `${c.name}: the ranks disagree`);
  });
});
