/**
 * The data section of a safetensors file must be tiled exactly by its tensors' byte ranges (as the format and
 * Python's reader require): overlapping or aliased ranges, holes and trailing bytes are refused, and the shard names
 * of an index must stay inside the model directory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointWeights } from "../../../src/checkpoint/checkpoint-weights.js";
import { saveSafetensors, SafetensorsFile } from "../../../src/checkpoint/safetensors.js";
import { isIrisError } from "../../../src/core/errors.js";
import { hostTensor } from "../../../src/core/host-tensor.js";

const tmp = () => mkdtempSync(join(tmpdir(), "iris-st-layout-"));

/** A file with this header and `dataBytes` bytes of data after it. */
function rawFile(dir: string, name: string, header: Record<string, unknown>, dataBytes: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  const path = join(dir, name);
  writeFileSync(path, out);
  return path;
}

const f32 = (n: number, begin: number) => ({ dtype: "F32", shape: [n], data_offsets: [begin, begin + 4 * n] });

test("a well-formed layout opens, in any header order", () => {
  const path = rawFile(tmp(), "ok.safetensors", { b: f32(2, 8), a: f32(2, 0) }, 16);
  SafetensorsFile.open(path).close();
});

test("overlapping or aliased data ranges are refused", () => {
  const dir = tmp();
  const aliased = rawFile(dir, "aliased.safetensors", { a: f32(4, 0), b: f32(4, 0) }, 16);
  assert.throws(() => SafetensorsFile.open(aliased), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /overlaps/.test(e.message));
  const overlapping = rawFile(dir, "overlap.safetensors", { a: f32(4, 0), b: f32(2, 8), c: f32(2, 16) }, 24);
  assert.throws(() => SafetensorsFile.open(overlapping), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /overlaps/.test(e.message));
});

test("a hole between tensors, or data before the first, is refused", () => {
  const dir = tmp();
  const hole = rawFile(dir, "hole.safetensors", { a: f32(2, 0), b: f32(2, 12) }, 20);
  assert.throws(() => SafetensorsFile.open(hole), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /hole of 4 bytes/.test(e.message));
  const leading = rawFile(dir, "leading.safetensors", { a: f32(2, 8) }, 16);
  assert.throws(() => SafetensorsFile.open(leading), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /hole of 8 bytes/.test(e.message));
});

test("bytes after the last tensor are refused", () => {
  const path = rawFile(tmp(), "trailing.safetensors", { a: f32(2, 0) }, 12);
  assert.throws(() => SafetensorsFile.open(path), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /ends at byte .* but the file has/.test(e.message));
});

test("shard names in the index must stay inside the model directory", () => {
  const outside = tmp();
  saveSafetensors(join(outside, "stolen.safetensors"), { w: hostTensor("F32", [1], Float32Array.of(1)) });
  const dir = tmp();
  for (const shard of [join(outside, "stolen.safetensors"), `../${outside.split("/").pop()}/stolen.safetensors`, "sub/../../x.safetensors"]) {
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { w: shard } }));
    assert.throws(() => CheckpointWeights.open(dir), (e) => isIrisError(e, "MODEL_LOAD") && /outside the model directory/.test(e.message), shard);
  }
});
