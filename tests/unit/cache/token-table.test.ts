import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenTable } from "../../../src/cache/token-table.js";
import { isIrisError } from "../../../src/core/errors.js";

test("slot of token i is page[i / pageSize] * pageSize + i % pageSize", () => {
  const table = new TokenTable(4);
  assert.equal(table.missingPagesFor(9), 3);
  table.append([7, 2, 5]);
  assert.equal(table.capacity, 12);
  assert.equal(table.missingPagesFor(9), 0);
  assert.equal(table.missingPagesFor(13), 1);
  assert.equal(table.slotOf(0), 28);
  assert.equal(table.slotOf(3), 31);
  assert.equal(table.slotOf(4), 8);
  assert.equal(table.slotOf(10), 22);
  assert.deepEqual([...table.slotsFor(2, 5)], [30, 31, 8, 9, 10]);
  assert.throws(() => table.slotOf(12), (err) => isIrisError(err, "INTERNAL"));
  assert.throws(() => table.slotsFor(10, 3), (err) => isIrisError(err, "INTERNAL"));
});

test("replacePrefix swaps leading pages and clear hands every page back", () => {
  const table = new TokenTable(2);
  table.append([4, 5, 6]);
  table.replacePrefix([9, 8]);
  assert.deepEqual(table.pages, [9, 8, 6]);
  assert.throws(() => table.replacePrefix([1, 2, 3, 4]), (err) => isIrisError(err, "INTERNAL"));
  assert.deepEqual(table.clear(), [9, 8, 6]);
  assert.equal(table.numPages, 0);
  assert.equal(table.capacity, 0);
});
