/**
 * Images' content keys (blockHashes): the same for a block whose digest an image worker computed as for one hashed on
 * the caller's thread, different for different bytes or layouts, and above every token id.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { contentDigest } from "../../../src/core/content-digest.js";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { blockHashes } from "../../../src/engine/prompt-preparer.js";

const rowsA = 3, rowsB = 2, width = 5;
const values = Float32Array.from({ length: (rowsA + rowsB) * width }, (_, i) => Math.cos(i) * 3);
const pixels = hostTensor("F32", [rowsA + rowsB, width], values);
const blocks = [{ rows: rowsA, layout: "grid 1x1x3" }, { rows: rowsB, layout: "grid 1x1x2" }];

test("a block's key is the same from a worker's digest as hashed here", () => {
  const here = blockHashes(pixels, blocks);
  const digests = [values.subarray(0, rowsA * width), values.subarray(rowsA * width)].map(contentDigest);
  assert.deepEqual(blockHashes(pixels, blocks.map((b, i) => ({ ...b, digest: digests[i] }))), here);
  for (const key of here) assert.ok(key >= 2 ** 30 && key < 2 ** 31);
  assert.notEqual(here[0], here[1]);
});

test("other bytes or another layout give another key", () => {
  const [key] = blockHashes(pixels, blocks);
  const changed = Float32Array.from(values);
  changed[4] += 1;
  assert.notEqual(blockHashes(hostTensor("F32", [rowsA + rowsB, width], changed), blocks)[0], key);
  assert.notEqual(blockHashes(pixels, [{ rows: rowsA, layout: "grid 1x3x1" }, blocks[1]])[0], key);
});
