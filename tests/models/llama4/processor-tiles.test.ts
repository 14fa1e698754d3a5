/**
 * Llama 4 tiles and prompt expansion on shapes the fixtures do not cover: extreme aspect ratios, a tiny image and the
 * 640x480 worked example (model-facts B1). Expected grids and token layouts follow from the reference's rules.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToF32 } from "../../../src/core/half.js";
import { toNumbers, type HostTensor } from "../../../src/core/host-tensor.js";
import type { DecodedPixels } from "../../../src/multimodal/image-types.js";
import { Llama4Processor } from "../../../src/multimodal/llama4-processor.js";
import { modelDir } from "../../helpers/fixtures.js";
import { jsTokenizer } from "../../unit/multimodal/test-tokenizers.js";
import { randomRgb } from "../../unit/multimodal/image-files.js";

const TILE = 336;
const PROMPT = "<|begin_of_text|><|header_start|>user<|header_end|>\n\n<|image|>Describe.<|eot|>";

function image(width: number, height: number): DecodedPixels {
  // Values 1..254 so that no pixel normalizes to -1, the value of the zero padding.
  return { width, height, data: randomRgb(width, height, width * 7 + height).map((v) => 1 + (v % 254)) };
}

async function processorFor(model: string): Promise<Llama4Processor> {
  return Llama4Processor.fromPretrained(modelDir(model), jsTokenizer(modelDir("tiny-llama4")));
}

/** The pixel value at (tile, channel, y, x) of a BF16 [tiles, 3, 336, 336] tensor. */
function at(pv: HostTensor, tile: number, c: number, y: number, x: number): number {
  return bf16ToF32((pv.data as Uint16Array)[((tile * 3 + c) * TILE + y) * TILE + x]);
}

/** Runs of equal ids, as [id, count] pairs: a readable picture of the expanded prompt. */
function runs(ids: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const id of ids) {
    if (out.length > 0 && out[out.length - 1][0] === id) out[out.length - 1][1]++;
    else out.push([id, 1]);
  }
  return out;
}

async function imageRuns(processor: Llama4Processor, img: DecodedPixels): Promise<{ runs: [number, number][]; pixelValues: HostTensor; ratio: readonly [number, number] }> {
  const out = await processor.process({ text: PROMPT, images: [img] });
  const ids = toNumbers(out.input_ids);
  const tok = (t: string): number => processor.tokenizer.tokenToId(t)!;
  const start = ids.indexOf(tok("<|image_start|>")), end = ids.indexOf(tok("<|image_end|>"));
  assert.ok(start > 0 && end > start);
  assert.ok(out.pixel_values);
  return { runs: runs(ids.slice(start, end + 1)), pixelValues: out.pixel_values, ratio: out.aspectRatios[0] };
}

test("2000x50 with 16 tiles: one row of 6 tiles plus the global tile; padding below the image is -1", async () => {
  const processor = await processorFor("llama4-scout-shape");
  const p = processor.tokenizer;
  const [START, END, IMG, PATCH, XSEP, YSEP] = ["<|image_start|>", "<|image_end|>", "<|image|>", "<|patch|>", "<|tile_x_separator|>", "<|tile_y_separator|>"].map((t) => p.tokenToId(t)!);
  const { runs: r, pixelValues, ratio } = await imageRuns(processor, image(2000, 50));
  assert.deepEqual(ratio, [1, 6]);
  assert.deepEqual(pixelValues.shape, [7, 3, TILE, TILE]);
  const row = [[PATCH, 144], [XSEP, 1], [PATCH, 144], [XSEP, 1], [PATCH, 144], [XSEP, 1], [PATCH, 144], [XSEP, 1], [PATCH, 144], [XSEP, 1], [PATCH, 144], [YSEP, 1]];
  assert.deepEqual(r, [[START, 1], ...row, [IMG, 1], [PATCH, 144], [END, 1]]);
  // Not resized (the canvas fits 2000 wide): rows 0..49 are the image, rows 50.. are padding, to x = 2000 in tile 5.
  assert.notEqual(at(pixelValues, 0, 0, 49, 0), -1);
  assert.equal(at(pixelValues, 0, 0, 50, 0), -1);
  assert.notEqual(at(pixelValues, 5, 2, 0, 2000 - 5 * TILE - 1), -1);
  assert.equal(at(pixelValues, 5, 2, 0, 2000 - 5 * TILE), -1);
  assert.notEqual(at(pixelValues, 6, 1, TILE - 1, TILE - 1), -1); // the global tile is the whole image, unpadded
});

test("50x2000 with 16 tiles: one column of 6 tiles; with the tiny model's 4 tiles, a 1x4 row squeezed to 33 rows", async () => {
  const scout = await processorFor("llama4-scout-shape");
  const tall = await imageRuns(scout, image(50, 2000));
  assert.deepEqual(tall.ratio, [6, 1]);
  assert.deepEqual(tall.pixelValues.shape, [7, 3, TILE, TILE]);
  const YSEP = scout.tokenizer.tokenToId("<|tile_y_separator|>")!;
  assert.equal(tall.runs.filter(([id]) => id === YSEP).length, 6);

  const tiny = await processorFor("tiny-llama4");
  const wide = await imageRuns(tiny, image(2000, 50));
  assert.deepEqual(wide.ratio, [1, 4]);
  assert.deepEqual(wide.pixelValues.shape, [5, 3, TILE, TILE]);
  assert.notEqual(at(wide.pixelValues, 3, 0, 32, TILE - 1), -1);
  assert.equal(at(wide.pixelValues, 3, 0, 33, TILE - 1), -1);
});

test("a 10x10 image: upscaled onto a single tile, no global tile, no separators", async () => {
  const processor = await processorFor("tiny-llama4");
  const t = (s: string): number => processor.tokenizer.tokenToId(s)!;
  const { runs: r, pixelValues, ratio } = await imageRuns(processor, image(10, 10));
  assert.deepEqual(ratio, [1, 1]);
  assert.deepEqual(pixelValues.shape, [1, 3, TILE, TILE]);
  assert.deepEqual(r, [[t("<|image_start|>"), 1], [t("<|image|>"), 1], [t("<|patch|>"), 144], [t("<|image_end|>"), 1]]);
  assert.notEqual(at(pixelValues, 0, 0, TILE - 1, TILE - 1), -1); // filled by the upscaled image, no padding
});

test("640x480: 2x2 tiles of the unresized image padded to 672x672, then the global tile", async () => {
  const processor = await processorFor("llama4-scout-shape");
  const img = image(640, 480);
  const { runs: r, pixelValues, ratio } = await imageRuns(processor, img);
  assert.deepEqual(ratio, [2, 2]);
  assert.deepEqual(pixelValues.shape, [5, 3, TILE, TILE]);
  const t = (s: string): number => processor.tokenizer.tokenToId(s)!;
  const [PATCH, XSEP, YSEP] = [t("<|patch|>"), t("<|tile_x_separator|>"), t("<|tile_y_separator|>")];
  const tileRow = [[PATCH, 144], [XSEP, 1], [PATCH, 144], [YSEP, 1]];
  assert.deepEqual(r, [[t("<|image_start|>"), 1], ...tileRow, ...tileRow, [t("<|image|>"), 1], [PATCH, 144], [t("<|image_end|>"), 1]]);
  // No resize: tile 3 (bottom right) holds pixel (336 + y, 336 + x) of the image; (v / 255 - 0.5) / 0.5 in bf16.
  const v = img.data[((TILE + 10) * 640 + TILE + 20) * 3 + 1];
  assert.ok(Math.abs(at(pixelValues, 3, 1, 10, 20) - (v / 255 - 0.5) / 0.5) < 0.01);
  assert.equal(at(pixelValues, 1, 0, 0, 640 - TILE), -1); // right of the image
  assert.equal(at(pixelValues, 2, 0, 480 - TILE, 0), -1); // below the image
  assert.notEqual(at(pixelValues, 2, 0, 480 - TILE - 1, 0), -1);
});
