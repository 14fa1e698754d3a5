// The runner's seam on cuda: a warmed-up decode step allocates nothing from the caching allocator and repeats its
// arena offsets (what graph capture needs), and 1,000 requests with images leave the allocator's reserved bytes flat
// after the first hundred (issue 9) and its live bytes no higher (they may fall: storages an earlier test left to the
// garbage collector go back to the allocator when it runs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEMO_MODEL, decodeStepsAreStable, thousandRequests } from "../helpers/step-checks.js";
import { cuda, skipCuda } from "./harness.js";

test("a warmed-up decode step on cuda allocates nothing and repeats its arena offsets", { skip: skipCuda }, async () => {
  await decodeStepsAreStable(DEMO_MODEL, { temperature: 0.8, topK: 20, topP: 0.9 }, cuda().backend);
});

test("the same with structured output's token masks on two of the four requests (applyTokenMask on cuda)", { skip: skipCuda }, async () => {
  await decodeStepsAreStable(DEMO_MODEL, { temperature: 1 }, cuda().backend, undefined, [3, 40, 41, 97, 200, 391]);
});

test("1,000 requests on cuda leave reserved bytes flat and live bytes no higher", { skip: skipCuda }, async () => {
  const { start, end } = await thousandRequests(cuda().backend);
  console.log(`cuda allocator after warm-up ${JSON.stringify(start)}, after 1,000 requests ${JSON.stringify(end)}`);
  assert.equal(end.reservedBytes, start.reservedBytes, "reserved bytes");
  assert.ok(end.allocatedBytes <= start.allocatedBytes, `live bytes ${end.allocatedBytes} after, ${start.allocatedBytes} before`);
});
