import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { contentDigest } from "../../../src/core/content-digest.js";
import { isIrisError } from "../../../src/core/errors.js";
import { ImagePreprocessPool } from "../../../src/multimodal/image-preprocess-pool.js";
import { InlineFeaturizer } from "../../../src/multimodal/image-features.js";
import { Qwen2VLImageProcessor } from "../../../src/multimodal/qwen2-vl-image-processor.js";
import { Llama4ImageProcessor } from "../../../src/multimodal/llama4-image-processor.js";
import { loadCases, modelDir } from "../../helpers/fixtures.js";

let qwenPool: ImagePreprocessPool;
before(async () => {
  qwenPool = await ImagePreprocessPool.start(modelDir("tiny-qwen2_5-vl"), 2);
});
after(() => qwenPool.close());

test("the pool's features equal those processed on this thread, image by image", async () => {
  const inline = new InlineFeaturizer(await Qwen2VLImageProcessor.fromPretrained(modelDir("tiny-qwen2_5-vl")));
  const images = loadCases("tiny-qwen2_5-vl").flatMap((c) => c.imagePaths);
  const [pooled, local] = await Promise.all([
    Promise.all(images.map((image) => qwenPool.featurize(image))),
    Promise.all(images.map((image) => inline.featurize(image))),
  ]);
  pooled.forEach((features, i) => {
    assert.deepEqual(features.grid, local[i].grid);
    assert.deepEqual(features.pixel_values.shape, local[i].pixel_values.shape);
    assert.deepEqual(Array.from(features.pixel_values.data as Float32Array), Array.from(local[i].pixel_values.data as Float32Array));
    // The worker hashed its output for the content key: the digest of exactly these bytes.
    assert.deepEqual(features.digest, contentDigest(local[i].pixel_values.data));
    assert.equal(local[i].digest, undefined, "on this thread nothing is hashed ahead");
  });
});

test("a Llama 4 pool gives tiles and tile grids", async () => {
  const pool = await ImagePreprocessPool.start(modelDir("tiny-llama4"), 1);
  try {
    const image = loadCases("tiny-llama4").find((c) => c.name === "one_image")!.imagePaths[0];
    const inline = new InlineFeaturizer(await Llama4ImageProcessor.fromPretrained(modelDir("tiny-llama4")));
    const [pooled, local] = await Promise.all([pool.featurize(image), inline.featurize(image)]);
    assert.deepEqual(pooled.aspectRatio, local.aspectRatio);
    assert.equal(pooled.pixel_values.dtype, "BF16");
    assert.deepEqual(Array.from(pooled.pixel_values.data as Uint16Array), Array.from(local.pixel_values.data as Uint16Array));
  } finally {
    await pool.close();
  }
});

test("a failing image rejects its own job with the loader's typed error; the pool goes on", async () => {
  await assert.rejects(qwenPool.featurize("/no/such/picture.png"), (e) => isIrisError(e, "IMAGE_LOAD") && /picture\.png/.test(e.message));
  await assert.rejects(qwenPool.featurize(new Uint8Array([1, 2, 3, 4])), (e) => isIrisError(e, "IMAGE_LOAD"));
  const image = loadCases("tiny-qwen2_5-vl")[0].imagePaths[0];
  assert.ok((await qwenPool.featurize(image)).pixel_values.shape[0] > 0);
});

test("after close, jobs are refused", async () => {
  const pool = await ImagePreprocessPool.start(modelDir("tiny-qwen2_5-vl"), 1);
  await pool.close();
  await assert.rejects(pool.featurize("x.png"), (e) => isIrisError(e, "ENGINE_SHUTDOWN"));
});
