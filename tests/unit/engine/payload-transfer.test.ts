/**
 * Image payloads sent to the engine's worker: a view of a larger buffer goes as a compact copy, moved rather than
 * cloned (postMessage would clone the whole buffer under it), and the caller's own arrays are never detached.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { payloadForTransfer } from "../../../src/engine/payload-transfer.js";
import type { MultimodalPayload } from "../../../src/engine/protocol.js";

const rows = 4, hidden = 8;
const batch = Float32Array.from({ length: 3 * rows * hidden }, (_, i) => Math.sin(i) * 10);

/** What the worker's side of a channel receives for `payload` sent as the client sends it. */
function roundTrip(payload: MultimodalPayload): MultimodalPayload {
  const { mm, transfer } = payloadForTransfer(payload);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(mm, transfer);
  const received = receiveMessageOnPort(port2)!.message as MultimodalPayload;
  port1.close();
  return received;
}

test("one picture's rows of a batch's embeddings arrive alone, equal, and the batch stays usable", () => {
  const view = batch.subarray(rows * hidden, 2 * rows * hidden);
  const received = roundTrip({ kind: "embeddings", embeddings: hostTensor("F32", [rows, hidden], view) });
  assert.equal(received.kind, "embeddings");
  const data = (received as { embeddings: { data: Float32Array } }).embeddings.data;
  assert.equal(data.buffer.byteLength, rows * hidden * 4, "only the view's bytes cross");
  assert.deepEqual(Array.from(data), Array.from(view));
  assert.equal(batch.buffer.byteLength, batch.length * 4, "the caller's buffer is not detached");
  assert.equal(view[3], batch[rows * hidden + 3]);
});

test("a tensor owning its whole buffer is cloned, never moved: the caller keeps it", () => {
  const own = Float32Array.from({ length: rows * 1176 }, (_, i) => i / 7);
  const { mm, transfer } = payloadForTransfer({ kind: "pixels", pixelValues: hostTensor("F32", [rows, 1176], own), imageGrids: [[1, 2, 2]] });
  assert.equal(transfer.length, 0);
  assert.equal((mm as { pixelValues: { data: Float32Array } }).pixelValues.data, own);
  const received = roundTrip(mm);
  assert.deepEqual(Array.from((received as { pixelValues: { data: Float32Array } }).pixelValues.data), Array.from(own));
  assert.equal(own.length, rows * 1176, "still attached after the send");
});

test("8-bit pictures that view a larger buffer are compacted too; the other fields pass unchanged", () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 255);
  const levelTable = Float32Array.from({ length: 768 }, (_, i) => i / 255);
  const payload: MultimodalPayload = {
    kind: "rgb8", pixels: hostTensor("U8", [12], bytes.subarray(20, 32)), sourceSizes: [[2, 2]], imageGrids: [[1, 2, 2]],
    resample: "bicubic", levelTable,
  };
  const received = roundTrip(payload) as Extract<MultimodalPayload, { kind: "rgb8" }>;
  assert.deepEqual(Array.from(received.pixels.data as Uint8Array), Array.from(bytes.subarray(20, 32)));
  assert.equal((received.pixels.data as Uint8Array).buffer.byteLength, 12);
  assert.deepEqual(received.sourceSizes, [[2, 2]]);
  assert.deepEqual(Array.from(received.levelTable), Array.from(levelTable));
});
