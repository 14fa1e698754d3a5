/**
 * Claims of processor_output and precomputed_embedding items are checked against their data before anything is sized
 * from them: a grid of millions of patches over ten floats, a prompt that would only exceed the context once expanded,
 * bytes declared as floats, non-finite embeddings, a grid that does not merge evenly. Each fails alone, at once.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { hostTensor, toNumbers } from "../../src/core/host-tensor.js";
import { Engine } from "../../src/engine/engine.js";
import { loadCaseTensors, modelDir } from "../helpers/fixtures.js";
import { QWEN, QWEN_IMAGE_TOKEN_ID, casesByName, greedy, rejectsWith } from "../helpers/engine-helpers.js";

const { text_only: textOnly } = casesByName(QWEN);
const ref = loadCaseTensors(QWEN, "one_image");
/** The reference prompt's ids with its image tokens collapsed to one placeholder. */
const collapsedIds = toNumbers(ref.input_ids).filter((id, i, all) => id !== QWEN_IMAGE_TOKEN_ID || all[i - 1] !== QWEN_IMAGE_TOKEN_ID);

describe("claims checked before data", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: modelDir(QWEN), contextLength: 256 });
  });
  after(() => engine.shutdown());

  async function stillServes(): Promise<void> {
    assert.equal((await engine.generate({ prompt: textOnly.prompt, samplingParams: greedy(3) })).outputIds.length, 3);
  }

  test("a 9M-patch grid over ten floats of pixel_values fails on the data, not after expanding the claim", async () => {
    const fake = { dtype: "F32" as const, shape: [9_000_000, 1176], data: new Float32Array(10) };
    await rejectsWith(engine.generate({
      inputIds: collapsedIds,
      imageData: [{ format: "processor_output", pixel_values: fake, image_grid_thw: [[1, 3000, 3000]] }],
    }), "INVALID_ARGUMENT", /pixel_values has shape \[9000000, 1176\] but 10 values/);
    await stillServes();
  });

  test("a prompt longer than the context once expanded fails before its placeholders are expanded", async () => {
    const hidden = engine.config.text.hiddenSize;
    // A 40x40 grid merges into 400 image tokens: more than the context of 256, with consistent data.
    const feature = hostTensor("F32", [400, hidden], new Float32Array(400 * hidden));
    await rejectsWith(engine.generate({
      inputIds: collapsedIds,
      imageData: [{ format: "precomputed_embedding", feature, image_grid_thw: [[1, 40, 40]] }],
    }), "CONTEXT_TOO_LONG", /once its 1 image\(s\) are expanded to 400 image tokens/);
    await stillServes();
  });

  test("precomputed embeddings whose data is not the declared dtype, or not finite, are refused", async () => {
    const feature = ref.image_embeds;
    const bytes = new Uint8Array(feature.data.buffer, feature.data.byteOffset, feature.data.byteLength);
    const asBytes = { dtype: "F32" as const, shape: feature.shape, data: bytes };
    const item = (f: unknown) => ({ inputIds: toNumbers(ref.input_ids), imageData: [{ format: "precomputed_embedding" as const, feature: f as typeof feature, image_grid_thw: ref.image_grid_thw }] });
    await rejectsWith(engine.generate(item(asBytes)), "INVALID_ARGUMENT", /declared F32, which is held in a Float32Array, but its data is a Uint8Array/);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const data = Float32Array.from(feature.data as Float32Array);
      data[17] = bad;
      await rejectsWith(engine.generate(item(hostTensor("F32", feature.shape, data))), "INVALID_ARGUMENT", /NaN or infinite value \(at element 17\)/);
    }
    const half = new Uint16Array(feature.shape[0] * feature.shape[1]);
    half[5] = 0x7fc0; // a bf16 NaN
    await rejectsWith(engine.generate(item(hostTensor("BF16", feature.shape, half))), "INVALID_ARGUMENT", /NaN or infinite value \(at element 5\)/);
    await stillServes();
  });

  test("a grid whose h or w does not divide by the merge size is refused as such, not as a fractional token count", async () => {
    await rejectsWith(engine.generate({
      inputIds: collapsedIds,
      imageData: [{ format: "processor_output", pixel_values: hostTensor("F32", [9, 1176], new Float32Array(9 * 1176)), image_grid_thw: [[1, 3, 3]] }],
    }), "INVALID_ARGUMENT", /image_grid_thw row \[1, 3, 3\] must have h and w divisible by the spatial merge size 2/);
    await stillServes();
  });
});
