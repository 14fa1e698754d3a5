/**
 * M-RoPE positions and decode offsets against the reference's `position_ids` and `rope_deltas`, for every Qwen case,
 * computed from the processor's own input_ids and grids (so processor and positions are checked together).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { toNumbers } from "../../../src/core/host-tensor.js";
import { mropePositions } from "../../../src/multimodal/mrope-positions.js";
import { Qwen2_5VLProcessor } from "../../../src/multimodal/qwen2-5-vl-processor.js";
import { loadCaseTensors, loadCases, modelDir } from "../../helpers/fixtures.js";
import { jsTokenizer } from "../../unit/multimodal/test-tokenizers.js";

const MODEL = "tiny-qwen2_5-vl";

test("position_ids [3, L] and rope_deltas match the reference for every case", async () => {
  const dir = modelDir(MODEL);
  // Token ids and the merge size as config.json (Hub layout) has them; the model config loader is not this layer's.
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
    image_token_id: number; vision_start_token_id: number; vision_config: { spatial_merge_size: number };
  };
  const tokens = { imageTokenId: config.image_token_id, visionStartTokenId: config.vision_start_token_id, spatialMergeSize: config.vision_config.spatial_merge_size };
  const processor = await Qwen2_5VLProcessor.fromPretrained(dir, jsTokenizer(dir));
  for (const c of loadCases(MODEL)) {
    const out = await processor.process({ text: c.prompt, images: c.imagePaths });
    const ref = loadCaseTensors(MODEL, c.name);
    const { positions, ropeDelta } = mropePositions(toNumbers(out.input_ids), out.grids, tokens);
    assert.deepEqual(ref.position_ids.shape, [3, positions.length / 3]);
    assert.deepEqual(Array.from(positions), toNumbers(ref.position_ids), `${c.name} position_ids`);
    assert.equal(ropeDelta, toNumbers(ref.rope_deltas)[0], `${c.name} rope_deltas`);
  }
});
