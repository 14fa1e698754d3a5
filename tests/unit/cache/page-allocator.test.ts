import { test } from "node:test";
import assert from "node:assert/strict";
import { PADDING_PAGE, PageAllocator } from "../../../src/cache/page-allocator.js";
import { isIrisError } from "../../../src/core/errors.js";

const internal = (err: unknown) => isIrisError(err, "INTERNAL");

test("the padding page is never handed out and capacity excludes it", () => {
  const allocator = new PageAllocator({ numPages: 5, pageSize: 4 });
  assert.equal(allocator.capacity, 4);
  assert.equal(allocator.freeCount, 4);
  const pages = allocator.allocate(4);
  assert.deepEqual(pages, [1, 2, 3, 4]);
  assert.ok(!pages!.includes(PADDING_PAGE));
  assert.equal(allocator.freeCount, 0);
  assert.equal(allocator.isAllocated(PADDING_PAGE), false);
});

test("allocate and free keep the free count exact; a short pool allocates nothing", () => {
  const allocator = new PageAllocator({ numPages: 9, pageSize: 2 });
  const a = allocator.allocate(3)!;
  const b = allocator.allocate(2)!;
  assert.equal(allocator.freeCount, 3);
  assert.equal(new Set([...a, ...b]).size, 5);
  assert.equal(allocator.allocate(4), null);
  assert.equal(allocator.freeCount, 3, "a failed allocation takes nothing");
  allocator.free(a);
  assert.equal(allocator.freeCount, 6);
  for (const page of a) assert.equal(allocator.isAllocated(page), false);
  for (const page of b) assert.equal(allocator.isAllocated(page), true);
  assert.deepEqual(allocator.allocate(0), []);
  allocator.free(b);
  assert.equal(allocator.freeCount, allocator.capacity);
});

test("double free, foreign ids and duplicates in one call are internal errors that free nothing", () => {
  const allocator = new PageAllocator({ numPages: 6, pageSize: 1 });
  const pages = allocator.allocate(3)!;
  allocator.free([pages[0]]);
  assert.throws(() => allocator.free([pages[0]]), internal);
  assert.throws(() => allocator.free([PADDING_PAGE]), internal);
  assert.throws(() => allocator.free([6]), internal);
  assert.throws(() => allocator.free([-1]), internal);
  assert.throws(() => allocator.free([1.5]), internal);
  assert.throws(() => allocator.free([pages[1], pages[1]]), internal);
  assert.throws(() => allocator.free([pages[1], pages[0]]), internal);
  assert.equal(allocator.isAllocated(pages[1]), true, "a rejected call frees none of its pages");
  assert.equal(allocator.freeCount, 3);
});

test("without the padding page every page circulates; pagesFor rounds up", () => {
  const allocator = new PageAllocator({ numPages: 3, pageSize: 16, reservePaddingPage: false });
  assert.equal(allocator.capacity, 3);
  assert.deepEqual(allocator.allocate(3), [0, 1, 2]);
  assert.equal(allocator.pagesFor(0), 0);
  assert.equal(allocator.pagesFor(16), 1);
  assert.equal(allocator.pagesFor(17), 2);
  assert.throws(() => new PageAllocator({ numPages: 1, pageSize: 4 }), (err) => isIrisError(err, "INVALID_ARGUMENT"));
  assert.throws(() => new PageAllocator({ numPages: 4, pageSize: 0 }), (err) => isIrisError(err, "INVALID_ARGUMENT"));
});
