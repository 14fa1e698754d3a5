/**
 * The vision encoder batched across requests (issue 10): the pictures of several requests in one pass of the
 * tower give each request exactly the rows it gets alone, and the reference's image_embeds; passes respect the
 * vision token budget; requests with the same images share one encoding; a bad request fails alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toNumbers } from "../../../src/core/host-tensor.js";
import type { MultimodalPayload } from "../../../src/core/multimodal-payload.js";
import { IrisError } from "../../../src/core/errors.js";
import { ImageEmbeddings, type ImageRequest } from "../../../src/runner/image-embeddings.js";
import { concatPayloads, planPasses } from "../../../src/runner/vision-passes.js";
import { downloadFloat32 } from "../../../src/runtime/creation.js";
import { getDevice } from "../../../src/runtime/device.js";
import type { Tensor } from "../../../src/runtime/tensor.js";
import { loadCaseTensors, modelDir } from "../../helpers/fixtures.js";
import { rng } from "../../helpers/rng.js";
import { Qwen2VLImageProcessor } from "../../../src/multimodal/qwen2-vl-image-processor.js";
import { loadFixtureModel } from "../../helpers/model-harness.js";
import { floats, relativeL2 } from "../../helpers/numerics.js";

const MODEL = "tiny-qwen2_5-vl";
const device = getDevice("cpu");
const { model } = loadFixtureModel(MODEL);

/** A case's pixels and grids as the runner gets them, and its reference embeddings. */
function fixtureCase(name: string): { mm: MultimodalPayload & { kind: "pixels" }; reference: Float32Array } {
  const ref = loadCaseTensors(MODEL, name);
  const grid = toNumbers(ref.image_grid_thw);
  const imageGrids = Array.from({ length: grid.length / 3 }, (_, i) => grid.slice(3 * i, 3 * i + 3));
  return { mm: { kind: "pixels", pixelValues: ref.pixel_values, imageGrids }, reference: floats(ref.image_embeds) };
}

const one = fixtureCase("one_image"), two = fixtureCase("two_images");
const rowsOf = (c: { reference: Float32Array }) => c.reference.length / model.embeddingSize;

/** An ImageEmbeddings over a fresh arena, counting the vision tower's passes. */
function embeddings(budget: number): { images: ImageEmbeddings; passes: () => number } {
  let passes = 0;
  const counted = Object.create(model) as typeof model;
  counted.encodeImages = (input) => {
    passes++;
    return model.encodeImages(input);
  };
  const images = new ImageEmbeddings(counted, device, device.backend.createArena(1 << 20), 64 * 2 ** 20, budget);
  return { images, passes: () => passes };
}

async function rows(results: (Tensor | IrisError)[]): Promise<Float32Array[]> {
  return Promise.all(results.map((r) => {
    if (r instanceof IrisError) throw r;
    return downloadFloat32(r);
  }));
}

test("planPasses: in order, each pass within the budget, an item above it alone", () => {
  assert.deepEqual(planPasses([5, 5, 5], 10), [[0, 1], [2]]);
  assert.deepEqual(planPasses([3, 20, 3, 3], 10), [[0], [1], [2, 3]]);
  assert.deepEqual(planPasses([], 10), []);
});

test("concatPayloads: pixel rows one after the other, grids appended, float32 where dtypes differ", () => {
  const joined = concatPayloads([one.mm, two.mm]) as typeof one.mm;
  assert.equal(joined.pixelValues.shape[0], one.mm.pixelValues.shape[0] + two.mm.pixelValues.shape[0]);
  assert.deepEqual(joined.imageGrids, [...one.mm.imageGrids!, ...two.mm.imageGrids!]);
  const widened = concatPayloads([one.mm, { ...two.mm, pixelValues: { ...two.mm.pixelValues, dtype: "F32", data: floats(two.mm.pixelValues) } }]) as typeof one.mm;
  assert.equal(widened.pixelValues.dtype, "F32");
  const expected = floats(joined.pixelValues), got = widened.pixelValues.data as Float32Array;
  assert.equal(got.length, expected.length);
  assert.ok(got.every((x, i) => x === expected[i]), "the widened rows differ");
});

test("three requests' pictures in one pass give the rows each gets alone, and the reference's image_embeds", async () => {
  const requests: ImageRequest[] = [
    { mm: one.mm, key: undefined, expectedRows: rowsOf(one) },
    { mm: two.mm, key: undefined, expectedRows: rowsOf(two) },
    { mm: one.mm, key: undefined, expectedRows: rowsOf(one) },
  ];
  const batched = embeddings(1 << 20), alone = embeddings(1);
  const together = await rows(batched.images.acquireAll(requests));
  const apart = await rows(alone.images.acquireAll(requests));
  assert.equal(batched.passes(), 1);
  assert.equal(alone.passes(), 3);
  for (const [i, r] of together.entries()) {
    // The same kernels over more rows: on the cpu each row's sums run in the same order, so the rows are equal.
    assert.deepEqual(r, apart[i], `request ${i}: batched differs from alone by ${relativeL2(r, apart[i])}`);
    const reference = [one, two, one][i].reference;
    // float16 pixels, as in the model parity test
    assert.ok(relativeL2(r, reference) < 1e-3, `request ${i}: ${relativeL2(r, reference)} from the reference`);
  }
});

test("the budget splits the pictures into passes; the same key is encoded once and shared", async () => {
  const patches = (c: typeof one) => c.mm.pixelValues.shape[0];
  const { images, passes } = embeddings(patches(one) + patches(two));
  const results = images.acquireAll([
    { mm: one.mm, key: "a", expectedRows: rowsOf(one) },
    { mm: two.mm, key: "b", expectedRows: rowsOf(two) },
    { mm: one.mm, key: "a", expectedRows: rowsOf(one) },
    { mm: one.mm, key: "c", expectedRows: rowsOf(one) },
  ]);
  assert.equal(passes(), 2, "a + b fit one pass, c takes a second");
  assert.equal(results[0], results[2]);
  assert.notEqual(results[0], results[3]);
  assert.equal(images.cachedEntries, 3);
});

test("a request whose image tokens disagree fails alone; the others get their rows", async () => {
  const { images } = embeddings(1 << 20);
  const results = images.acquireAll([
    { mm: one.mm, key: undefined, expectedRows: rowsOf(one) },
    { mm: two.mm, key: undefined, expectedRows: rowsOf(two) + 1 },
    // Grids that do not cover the pixel rows: kept out of the shared pass, so it cannot shift the others' rows.
    { mm: { ...one.mm, imageGrids: [[1, 2, 2]] }, key: undefined, expectedRows: 1 },
  ]);
  assert.ok(results[1] instanceof IrisError && results[1].code === "IMAGE_TOKEN_MISMATCH");
  assert.ok(results[2] instanceof IrisError, "a payload whose grid disagrees with its pixels fails");
  const [first] = await rows([results[0]]);
  assert.ok(relativeL2(first, one.reference) < 1e-3);
});

test("8-bit pictures resized and patchified on the device: the processor's rows, batched with each other and apart from pixel values", async () => {
  const processor = await Qwen2VLImageProcessor.fromPretrained(modelDir(MODEL));
  const random = rng(5);
  const picture = (width: number, height: number) => ({ width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)) });
  const pictures = [picture(60, 45), picture(33, 90)];
  const asRgb8 = (image: (typeof pictures)[number]): ImageRequest => {
    const f = processor.rgb8One(image);
    const mm: MultimodalPayload = { kind: "rgb8", pixels: f.pixel_values, sourceSizes: [f.sourceSize!], imageGrids: [[...f.grid!]],
      resample: processor.config.resample, levelTable: processor.levelTable };
    return { mm, key: undefined, expectedRows: (f.grid![1] * f.grid![2]) / 4 };
  };
  const asPixels = (image: (typeof pictures)[number]): ImageRequest => {
    const f = processor.preprocess([image]);
    return { mm: { kind: "pixels", pixelValues: f.pixel_values, imageGrids: f.grids.map((g) => [...g]) }, key: undefined, expectedRows: (f.grids[0][1] * f.grids[0][2]) / 4 };
  };
  const { images, passes } = embeddings(1 << 20);
  const got = await rows(images.acquireAll([asRgb8(pictures[0]), asPixels(pictures[0]), asRgb8(pictures[1]), asPixels(pictures[1])]));
  assert.equal(passes(), 2, "one pass of 8-bit pictures, one of pixel values");
  assert.deepEqual(got[0], got[1]);
  assert.deepEqual(got[2], got[3]);
});
