/**
 * Image payloads sent to the engine's worker: a view of a larger buffer goes as a compact copy, moved rather than
 * cloned (postMessage would clone the whole buffer under it), and the caller's own arrays are never detached.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { hostTensor } from "../../../src/core/host-tensor.js";
import { callerBuffersOf, payloadForTransfer } from "../../../src/engine/payload-transfer.js";
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

test("under moveWhole, a whole buffer Iris made is moved (detached here, equal there); the caller's are cloned", () => {
  const made = Uint8Array.from({ length: 48 }, (_, i) => (i * 11) & 255);
  const callers = Uint8Array.from({ length: 48 }, (_, i) => (i * 5) & 255);
  const payload = (data: Uint8Array): MultimodalPayload => ({
    kind: "rgb8", pixels: hostTensor("U8", [48], data), sourceSizes: [[4, 4]], imageGrids: [[1, 2, 2]], resample: "bicubic",
    levelTable: new Float32Array(768),
  });
  const rule = { callerBuffers: callerBuffersOf([{ data: callers, width: 4, height: 4, channels: 3 }]), moveWhole: true };
  const expected = Array.from(made);
  const moved = payloadForTransfer(payload(made), rule);
  assert.deepEqual(moved.transfer, [made.buffer]);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(moved.mm, moved.transfer);
  const received = receiveMessageOnPort(port2)!.message as Extract<MultimodalPayload, { kind: "rgb8" }>;
  assert.deepEqual(Array.from(received.pixels.data as Uint8Array), expected);
  assert.equal(made.byteLength, 0, "moved, not copied");
  assert.equal(payloadForTransfer(payload(callers), rule).transfer.length, 0, "the caller's pixels are never moved");
  assert.equal(payloadForTransfer(payload(Uint8Array.from(expected)), { ...rule, moveWhole: false }).transfer.length, 0,
    "without moveWhole (n > 1 samples share one payload) nothing whole is moved");
  port1.close();
});

test("callerBuffersOf finds the buffers under every image form", () => {
  const pixels = new Uint8Array(12), bytes = new Uint8Array(5), patches = new Float32Array(6), feature = new Float32Array(4);
  const found = callerBuffersOf([
    { data: pixels, width: 2, height: 2, channels: 3 }, bytes, "photo.png",
    { format: "processor_output", pixel_values: hostTensor("F32", [1, 6], patches), image_grid_thw: [[1, 1, 1]] },
    { format: "precomputed_embedding", feature: hostTensor("F32", [1, 4], feature) },
    { format: "precomputed_embedding", feature: [[1, 2], [3, 4]], image_grid_thw: [[1, 2, 2]] },
  ]);
  for (const b of [pixels, bytes, patches, feature]) assert.ok(found.has(b.buffer));
  assert.equal(found.size, 4);
});
