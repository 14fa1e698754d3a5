import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeRequest } from "../../../src/engine/normalize-request.js";
import { isIrisError } from "../../../src/core/errors.js";
import type { GenerateRequest } from "../../../src/core/request.js";

const invalid = (req: GenerateRequest, message: RegExp) =>
  assert.throws(() => normalizeRequest(req), (e) => isIrisError(e, "INVALID_ARGUMENT") && message.test(e.message));

test("a string prompt is one request; its image list is its images", () => {
  const n = normalizeRequest({ prompt: "hi", imageData: ["a.png", "b.png"], rid: "r" });
  assert.equal(n.isBatch, false);
  assert.equal(n.requests.length, 1);
  assert.deepEqual(n.requests[0].images, ["a.png", "b.png"]);
  assert.equal(n.requests[0].rid, "r");
  assert.deepEqual(normalizeRequest({ prompt: "hi", imageData: "a.png" }).requests[0].images, ["a.png"]);
  assert.deepEqual(normalizeRequest({ prompt: "hi", imageData: [["a.png", "b.png"]] }).requests[0].images, ["a.png", "b.png"]);
});

test("a batch spreads images as SGLang does", () => {
  const flat = normalizeRequest({ prompt: ["x", "y"], imageData: ["a.png", "b.png"] });
  assert.equal(flat.isBatch, true);
  assert.deepEqual(flat.requests.map((r) => r.images), [["a.png"], ["b.png"]]);
  const nested = normalizeRequest({ prompt: ["x", "y"], imageData: [["a.png", "b.png"], ["c.png"]] });
  assert.deepEqual(nested.requests.map((r) => r.images), [["a.png", "b.png"], ["c.png"]]);
  const one = normalizeRequest({ prompt: ["x", "y"], imageData: "a.png" });
  assert.deepEqual(one.requests.map((r) => r.images), [["a.png"], ["a.png"]]);
  const none = normalizeRequest({ prompt: ["x", "y"], imageData: [] });
  assert.deepEqual(none.requests.map((r) => r.images), [[], []]);
  const withNull = normalizeRequest({ prompt: ["x", "y"], imageData: [["a.png"], null] });
  assert.deepEqual(withNull.requests.map((r) => r.images), [["a.png"], []]);
  invalid({ prompt: ["x", "y"], imageData: ["a.png"] }, /length of imageData \(1\) should be equal to the batch size \(2\)/);
});

test("ids, sampling parameters and rids spread over the batch", () => {
  const n = normalizeRequest({ inputIds: [[1, 2], [3]], samplingParams: { maxNewTokens: 3 }, rid: "job" });
  assert.equal(n.isBatch, true);
  assert.deepEqual(n.requests.map((r) => r.inputIds), [[1, 2], [3]]);
  assert.deepEqual(n.requests.map((r) => r.rid), ["job_0", "job_1"]);
  assert.deepEqual(n.requests.map((r) => r.samplingParams?.maxNewTokens), [3, 3]);
  const listed = normalizeRequest({ prompt: ["a", "b"], samplingParams: [{ topK: 1 }, { topK: 2 }] });
  assert.deepEqual(listed.requests.map((r) => r.samplingParams?.topK), [1, 2]);
  assert.equal(normalizeRequest({ inputIds: [5, 6] }).isBatch, false);
  const generated = normalizeRequest({ prompt: ["a", "b"] }).requests.map((r) => r.rid);
  assert.notEqual(generated[0], generated[1]);
});

test("bad calls get clear errors", () => {
  invalid({}, /Either prompt or inputIds should be provided/);
  invalid({ prompt: "a", inputIds: [1] }, /either prompt or inputIds, not both/);
  invalid({ inputIds: [] }, /inputIds cannot be empty/);
  invalid({ inputIds: [[1], []] }, /inputIds cannot be empty/);
  invalid({ inputIds: [1.5] }, /non-negative integer token ids/);
  invalid({ prompt: ["a", "b"], samplingParams: [{}] }, /samplingParams has 1 entries for a batch of 2/);
  invalid({ prompt: ["a", "b"], rid: ["x"] }, /rids length mismatch/);
  invalid({ prompt: ["a", "b"], rid: ["x", "x"] }, /Duplicate request IDs/);
  invalid({ prompt: [] }, /batch is empty/);
});
