/**
 * The decode budget: decodes reserve their estimated memory and the rest wait their turn, first come first served;
 * an image larger than the whole budget runs alone; releases and aborts hand the room on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DecodeBudget } from "../../../src/multimodal/decode-budget.js";

const tick = () => new Promise((r) => setImmediate(r));

test("reservations past the budget wait until earlier ones are released, in order", async () => {
  const budget = new DecodeBudget(100);
  const a = budget.lease(), b = budget.lease(), c = budget.lease();
  const granted: string[] = [];
  await a.reserve(60).then(() => granted.push("a"));
  void b.reserve(60).then(() => granted.push("b"));
  void c.reserve(30).then(() => granted.push("c"));
  await tick();
  // c would fit beside a, but b came first: no overtaking, so a large image is never starved.
  assert.deepEqual(granted, ["a"]);
  assert.equal(budget.reservedBytes, 60);
  a.release();
  await tick();
  assert.deepEqual(granted, ["a", "b", "c"]);
  assert.equal(budget.reservedBytes, 90);
  b.release();
  c.release();
  assert.equal(budget.reservedBytes, 0);
});

test("an image larger than the whole budget runs alone", async () => {
  const budget = new DecodeBudget(100);
  const small = budget.lease(), huge = budget.lease();
  await small.reserve(10);
  let hugeGranted = false;
  void huge.reserve(500).then(() => (hugeGranted = true));
  await tick();
  assert.equal(hugeGranted, false);
  small.release();
  await tick();
  assert.equal(hugeGranted, true);
  huge.release();
  assert.equal(budget.reservedBytes, 0);
});

test("an aborted wait leaves the queue and rejects with the signal's reason; a release drops a waiting reservation", async () => {
  const budget = new DecodeBudget(100);
  const holder = budget.lease(), waiting = budget.lease(), dropped = budget.lease(), next = budget.lease();
  await holder.reserve(100);
  const controller = new AbortController();
  const aborted = waiting.reserve(50, controller.signal);
  void dropped.reserve(50);
  let nextGranted = false;
  void next.reserve(50).then(() => (nextGranted = true));
  const reason = new Error("aborted");
  controller.abort(reason);
  await assert.rejects(aborted, (e) => e === reason);
  dropped.release();
  holder.release();
  await tick();
  assert.equal(nextGranted, true);
  assert.equal(budget.reservedBytes, 50);
});
