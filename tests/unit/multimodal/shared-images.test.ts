import { test } from "node:test";
import assert from "node:assert/strict";
import { hostTensor } from "../../../src/core/host-tensor.js";
import type { ImageFeaturizer, ImageFeatures } from "../../../src/multimodal/image-features.js";
import type { ImageInput, ImageLoadRequest } from "../../../src/multimodal/image-types.js";
import { SharedImages, featurizeOnce } from "../../../src/multimodal/shared-images.js";

/** A featurizer that counts its jobs and remembers whether each came with an abort signal. */
function countingFeaturizer(): ImageFeaturizer & { jobs: number; signals: (AbortSignal | undefined)[] } {
  const featurizer = {
    jobs: 0,
    signals: [] as (AbortSignal | undefined)[],
    featurize(image: ImageInput, options?: ImageLoadRequest): Promise<ImageFeatures> {
      featurizer.jobs++;
      featurizer.signals.push(options?.signal);
      const seed = typeof image === "string" ? image.length : 7;
      return Promise.resolve({ pixel_values: hostTensor("F32", [2, 3], Float32Array.from({ length: 6 }, (_, i) => seed + i / 4)) });
    },
  };
  return featurizer;
}

test("no image in two requests: no share, and every image is processed on its own", async () => {
  assert.equal(SharedImages.of([["a.png"], ["b.png"], []]), undefined);
  const featurizer = countingFeaturizer();
  const features = await featurizeOnce(featurizer, "a.png", {}, "patches");
  assert.equal(featurizer.jobs, 1);
  assert.ok(features.pixel_values.data.buffer instanceof ArrayBuffer);
});

test("an image in several requests is processed once, into shared memory with its digest, without an abort signal", async () => {
  const picture = { data: new Uint8Array(12), width: 2, height: 2 } as unknown as ImageInput;
  const shared = SharedImages.of([["a.png", picture], ["a.png"], [picture], ["c.png"]])!;
  const featurizer = countingFeaturizer();
  const signal = new AbortController().signal;
  const options: ImageLoadRequest = { shared, signal };
  const fromPath = await Promise.all([0, 1, 2].map(() => featurizeOnce(featurizer, "a.png", options, "patches")));
  const fromPixels = await Promise.all([0, 1].map(() => featurizeOnce(featurizer, picture, options, "patches")));
  assert.equal(featurizer.jobs, 2, "one job for the path, one for the pixels");
  assert.deepEqual(featurizer.signals, [undefined, undefined], "a shared job does not stop with one request");
  for (const features of [...fromPath, ...fromPixels]) {
    assert.ok(features.pixel_values.data.buffer instanceof SharedArrayBuffer);
    assert.equal(features.digest?.length, 32);
  }
  assert.deepEqual(Array.from(fromPath[0].pixel_values.data as Float32Array), [5, 5.25, 5.5, 5.75, 6, 6.25]);
  assert.notDeepEqual(fromPath[0].digest, fromPixels[0].digest);
  // Another output of the same image is another job; an image in one request alone goes straight through.
  await featurizeOnce(featurizer, "a.png", options, "rgb8");
  await featurizeOnce(featurizer, "c.png", options, "patches");
  assert.equal(featurizer.jobs, 4);
  assert.equal(featurizer.signals[3], signal);
});
