import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointWeights } from "../../../src/checkpoint/checkpoint-weights.js";
import { loadSafetensors, saveSafetensors, SafetensorsFile } from "../../../src/checkpoint/safetensors.js";
import { isIrisError } from "../../../src/core/errors.js";
import { hostTensor, toNumbers, type HostTensor } from "../../../src/core/host-tensor.js";
import { modelDir } from "../../helpers/fixtures.js";

const tmp = () => mkdtempSync(join(tmpdir(), "iris-st-"));

function sample(): Record<string, HostTensor> {
  return {
    f32: hostTensor("F32", [2, 3], Float32Array.from([1, -2, 3.5, 4, 5, 6])),
    bf16: hostTensor("BF16", [3], Uint16Array.from([0x3f80, 0xc000, 0x7f80])),
    f16: hostTensor("F16", [1, 2], Uint16Array.from([0x3c00, 0x4000])),
    i64: hostTensor("I64", [2], BigInt64Array.from([-(2n ** 40n), 151655n])),
    i32: hostTensor("I32", [1], Int32Array.from([-7])),
    u8: hostTensor("U8", [4], Uint8Array.from([0, 1, 254, 255])),
    i8: hostTensor("I8", [2], Int8Array.from([-128, 127])),
    f64: hostTensor("F64", [1], Float64Array.from([Math.PI])),
    empty: hostTensor("F32", [0, 4], new Float32Array(0)),
  };
}

test("write then read returns every dtype exactly", () => {
  const path = join(tmp(), "t.safetensors");
  const tensors = sample();
  saveSafetensors(path, tensors, { format: "pt" });
  const back = loadSafetensors(path);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    assert.equal(back[name].dtype, t.dtype, name);
    assert.deepEqual(back[name].shape, t.shape, name);
    assert.deepEqual(Array.from(back[name].data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>), name);
  }
  const file = SafetensorsFile.open(path);
  assert.equal(file.metadata.format, "pt");
  // Data starts 8-byte aligned, as Python's writer does it.
  for (const [name, t] of Object.entries(tensors)) assert.equal(file.info(name).begin % (t.data.BYTES_PER_ELEMENT ?? 1), 0, name);
  file.close();
});

test("reads the fixture checkpoint tensor by tensor", () => {
  const weights = CheckpointWeights.open(modelDir("tiny-qwen2_5-vl"));
  assert.ok(weights.names().length > 40);
  const name = "model.embed_tokens.weight";
  assert.ok(weights.has(name));
  assert.deepEqual(weights.info(name).shape, [151936, 64]);
  assert.equal(weights.read(name).dtype, "BF16");
  weights.close();
});

test("sharded checkpoints are read through the index", () => {
  const dir = tmp();
  const t = sample();
  saveSafetensors(join(dir, "model-00001-of-00002.safetensors"), { a: t.f32, b: t.i64 });
  saveSafetensors(join(dir, "model-00002-of-00002.safetensors"), { c: t.bf16 });
  const weightMap = { a: "model-00001-of-00002.safetensors", b: "model-00001-of-00002.safetensors", c: "model-00002-of-00002.safetensors" };
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const weights = CheckpointWeights.open(dir);
  assert.deepEqual(weights.names().sort(), ["a", "b", "c"]);
  assert.deepEqual(toNumbers(weights.read("b")), [-(2 ** 40), 151655]);
  assert.equal(weights.totalBytes(), 24 + 16 + 6);
  weights.close();
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { z: "model-00002-of-00002.safetensors" } }));
  assert.throws(() => CheckpointWeights.open(dir), (e) => isIrisError(e, "MODEL_LOAD") && /does not hold it/.test(e.message));
});

test("truncated and malformed files get typed errors", () => {
  const dir = tmp();
  const good = join(dir, "good.safetensors");
  saveSafetensors(good, sample());
  const bytes = readFileSync(good);
  const truncated = join(dir, "truncated.safetensors");
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => SafetensorsFile.open(truncated), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /past the end/.test(e.message));
  const tiny = join(dir, "tiny.safetensors");
  writeFileSync(tiny, bytes.subarray(0, 5));
  assert.throws(() => SafetensorsFile.open(tiny), (e) => isIrisError(e, "SAFETENSORS_INVALID"));
  const hugeHeader = Buffer.alloc(16);
  hugeHeader.writeBigUInt64LE(1n << 40n, 0);
  writeFileSync(join(dir, "huge.safetensors"), hugeHeader);
  assert.throws(() => SafetensorsFile.open(join(dir, "huge.safetensors")), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /truncated/.test(e.message));
  const notJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{{{{")]);
  writeFileSync(join(dir, "notjson.safetensors"), notJson);
  assert.throws(() => SafetensorsFile.open(join(dir, "notjson.safetensors")), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /not JSON/.test(e.message));
  // A header whose offsets point past the end of the data.
  const header = JSON.stringify({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } });
  const lying = Buffer.alloc(8 + header.length + 8);
  lying.writeBigUInt64LE(BigInt(header.length), 0);
  lying.write(header, 8);
  writeFileSync(join(dir, "lying.safetensors"), lying);
  assert.throws(() => SafetensorsFile.open(join(dir, "lying.safetensors")), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /past the end/.test(e.message));
  const badShape = JSON.stringify({ w: { dtype: "F32", shape: [5], data_offsets: [0, 16] } });
  const mismatch = Buffer.alloc(8 + badShape.length + 16);
  mismatch.writeBigUInt64LE(BigInt(badShape.length), 0);
  mismatch.write(badShape, 8);
  writeFileSync(join(dir, "mismatch.safetensors"), mismatch);
  assert.throws(() => SafetensorsFile.open(join(dir, "mismatch.safetensors")), (e) => isIrisError(e, "SAFETENSORS_INVALID") && /needs 20 bytes/.test(e.message));
  assert.throws(() => CheckpointWeights.open(dir), (e) => isIrisError(e, "MODEL_LOAD") && /neither model.safetensors/.test(e.message));
});
